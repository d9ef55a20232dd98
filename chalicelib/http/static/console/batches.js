// The console's Batches page (issue 19): a file of applications scored with decision versions. The
// list of batches, a new one (created, its file PUT from this browser to the presigned upload_url,
// started), its progress bar polled from GET, and once done the summary: each version's figures,
// the outcome mix and the swap set as charts (the vendored Chart.js). Staff signed in run backtests
// (/v1/backtests: model risk and managers, shared between them); without a sign-in, the API key at the
// top runs its own portfolio batches (/v1/batches). Same rules as console.js: no inline script or
// style, every element made with the DOM API and textContent, failures as sentences.
(function () {
  'use strict';

  var LC = window.LoanConsole;
  var POLL_EVERY_MS = 1000;
  var PAGE_SIZE = 20;
  var DONE = ['COMPLETED', 'COMPLETED_WITH_ERRORS', 'FAILED'];
  var SWAPS = [
    ['approve_to_decline', 'approved → declined'],
    ['decline_to_approve', 'declined → approved'],
    ['to_review', '→ manual review'],
    ['from_review', 'manual review →']
  ];
  var SERIES_COLOURS = ['#0b57d0', '#b45309', '#6d28d9', '#0f766e', '#be185d'];

  var pollTimer = null;
  var shown = null; // the batch id whose detail is open
  var generation = 0; // a newer list or detail load makes an older answer stale
  var cursor = null;
  var charts = { outcomes: null, swaps: null };

  function $(id) { return document.getElementById(id); }

  // Staff signed in: backtests with the ID token; else the API key's own batches.
  function owner() { return $('batch-owner').value; }
  function prefix() { return owner() === 'staff' ? '/v1/backtests' : '/v1/batches'; }
  function call(method, path, options) {
    return owner() === 'staff' ? LC.staffApi(method, path, options) : LC.api(method, path, options);
  }
  function fail(failure, retry) {
    if (owner() === 'staff') LC.reportStaff(failure, retry); else LC.report(failure, retry);
  }

  function number(value) { return value === null || value === undefined ? '–' : Number(value).toLocaleString('en-GB'); }
  function rate(value) { return value === null || value === undefined ? '–' : LC.percent(value); }

  function formatOf(file) {
    var name = file.name.toLowerCase();
    if (/\.csv$/.test(name)) return 'csv';
    if (/\.(jsonl|ndjson)$/.test(name)) return 'jsonl';
    return null;
  }

  // ------------------------------------------------------------------ the list
  function row(item) {
    var tr = document.createElement('tr');
    tr.dataset.batchId = item.batch_id;
    var id = document.createElement('td');
    id.appendChild(LC.el('code', item.batch_id));
    tr.appendChild(id);
    tr.appendChild(LC.el('td', new Date(item.created_at).toLocaleString('en-GB')));
    tr.appendChild(LC.el('td', (item.versions || []).join(', ')));
    tr.appendChild(LC.el('td', item.status, 'status-' + item.status));
    tr.appendChild(LC.el('td', number(item.rows ? item.rows.scored : null)));
    var cell = document.createElement('td');
    var open = LC.el('button', 'Open');
    open.type = 'button';
    open.addEventListener('click', function () { openBatch(item.batch_id); });
    cell.appendChild(open);
    tr.appendChild(cell);
    return tr;
  }

  function loadList(reset) {
    var mine = ++generation;
    if (reset) cursor = null;
    var query = '?limit=' + PAGE_SIZE + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
    return call('GET', prefix() + query).then(function (result) {
      if (mine !== generation) return;
      var body = $('batches-table').querySelector('tbody');
      if (reset) LC.clear(body);
      result.body.items.forEach(function (item) { body.appendChild(row(item)); });
      cursor = result.body.next_cursor || null;
      $('batches-more').hidden = !cursor;
      $('batches-caption').textContent = (owner() === 'staff' ? 'Backtests' : 'This API key\'s batches') + ', newest first';
      $('batches-table').dataset.loads = String(Number($('batches-table').dataset.loads || '0') + 1);
    }, function (failure) { if (mine === generation) fail(failure, function () { loadList(reset); }); });
  }

  // ------------------------------------------------------------------ a new batch
  function submit(event) {
    event.preventDefault();
    $('batch-error').textContent = '';
    var file = $('batch-file').files[0];
    if (!file) { $('batch-error').textContent = 'Choose a file to score.'; return; }
    var format = formatOf(file);
    if (!format) { $('batch-error').textContent = 'The file must be CSV (.csv) or JSON Lines (.jsonl, .ndjson).'; return; }
    var versions = $('batch-versions').value.split(',').map(function (v) { return v.trim(); }).filter(Boolean);
    var body = { format: format, counteroffers: $('batch-counteroffers').checked };
    if (versions.length) body.versions = versions;
    var button = $('batch-run');
    button.disabled = true;
    call('POST', prefix(), { body: body }).then(function (result) {
      var created = result.body;
      if (created.max_bytes && file.size > created.max_bytes) {
        throw new LC.Failure('other', 413, 'The file is ' + number(file.size) + ' bytes; the limit is ' + number(created.max_bytes) + '.');
      }
      return upload(created, file).then(function () {
        return call('POST', prefix() + '/' + encodeURIComponent(created.batch_id) + '/start');
      }).then(function () {
        $('batch-form').reset();
        loadList(true);
        openBatch(created.batch_id);
      }, function (failure) {
        // Refused at the start (too large, not its format, lacking columns): the batch is FAILED
        // with its reason, shown beside the refusal.
        if (failure instanceof LC.Failure && (failure.status === 413 || failure.status === 422)) {
          loadList(true);
          openBatch(created.batch_id);
        }
        throw failure;
      });
    }).catch(function (failure) {
      $('batch-error').textContent = LC.refusal(failure);
    }).then(function () { button.disabled = false; });
  }

  // The file straight from this browser to S3 (the presigned PUT): the API never carries its bytes.
  function upload(created, file) {
    var headers = created.upload_headers || {};
    return fetch(created.upload_url, { method: created.upload_method || 'PUT', body: file, headers: headers, credentials: 'omit' }).then(function (response) {
      if (!response.ok) throw new LC.Failure('other', response.status, 'The upload was refused (HTTP ' + response.status + '); create the batch again.');
    }, function () {
      throw new LC.Failure('network', 0, 'The upload did not reach the storage: check the network and retry.');
    });
  }

  // ------------------------------------------------------------------ one batch
  function stopPolling() {
    if (pollTimer !== null) window.clearTimeout(pollTimer);
    pollTimer = null;
  }

  function openBatch(batchId) {
    stopPolling();
    shown = batchId;
    $('batch-detail').hidden = false;
    $('batch-outcome').hidden = true;
    $('batch-detail').dataset.status = '';
    $('batch-id').textContent = batchId;
    poll(batchId);
  }

  function poll(batchId) {
    call('GET', prefix() + '/' + encodeURIComponent(batchId)).then(function (result) {
      if (batchId !== shown) return;
      showProgress(result.body);
      if (DONE.indexOf(result.body.status) >= 0) {
        showOutcome(result.body);
        loadList(true);
      } else {
        pollTimer = window.setTimeout(function () { poll(batchId); }, POLL_EVERY_MS);
      }
    }, function (failure) {
      if (batchId === shown) fail(failure, function () { poll(batchId); });
    });
  }

  function showProgress(batch) {
    var status = $('batch-status');
    status.textContent = batch.status;
    status.className = 'status-' + batch.status;
    var chunks = batch.chunks || {};
    var settled = (chunks.done || 0) + (chunks.failed || 0);
    var bar = $('batch-progress');
    if (chunks.total) { bar.max = chunks.total; bar.value = settled; } else if (DONE.indexOf(batch.status) >= 0) { bar.max = 1; bar.value = 1; } else { bar.removeAttribute('value'); }
    $('batch-progress-text').textContent = chunks.total
      ? settled + ' of ' + chunks.total + ' chunks' + (chunks.failed ? ' (' + chunks.failed + ' failed)' : '')
      : (batch.status === 'PENDING' ? 'waiting for the file' : 'planning the chunks…');
    var rows = batch.rows || {};
    $('batch-rows-read').textContent = number(rows.read);
    $('batch-rows-scored').textContent = number(rows.scored);
    $('batch-rows-invalid').textContent = number(rows.invalid);
    $('batch-rate').textContent = batch.rows_per_second ? number(Math.round(batch.rows_per_second)) : '–';
    $('batch-eta').textContent = batch.status === 'RUNNING' && batch.eta_seconds !== null && batch.eta_seconds !== undefined
      ? Math.ceil(batch.eta_seconds) + ' s' : '–';
    var problems = (batch.error ? [batch.error] : []).concat(batch.errors || []);
    $('batch-failure').textContent = problems.join(' · ');
    $('batch-detail').dataset.status = batch.status;
  }

  function figureRow(table, label, cells) {
    var tr = document.createElement('tr');
    tr.appendChild(LC.el('th', label)).scope = 'row';
    cells.forEach(function (cell) { tr.appendChild(LC.el('td', cell)); });
    table.appendChild(tr);
  }

  function lowest(groups) {
    if (!groups || !groups.length) return '–';
    var least = groups.reduce(function (a, b) { return b.ratio < a.ratio ? b : a; });
    return least.group + ' ' + least.ratio.toFixed(3) + ' (n=' + number(least.n) + ')';
  }

  function showOutcome(batch) {
    var summary = batch.summary;
    if (!summary) return;
    var versions = summary.versions || [];
    var head = $('batch-versions-table').querySelector('thead');
    var body = $('batch-versions-table').querySelector('tbody');
    LC.clear(head);
    LC.clear(body);
    var headings = document.createElement('tr');
    headings.appendChild(LC.el('th', 'Figure')).scope = 'col';
    versions.forEach(function (v) { headings.appendChild(LC.el('th', v.version_id)).scope = 'col'; });
    head.appendChild(headings);
    var outcomes = ['approved', 'declined', 'manual_review'];
    outcomes.forEach(function (o) { figureRow(body, o.replace('_', ' '), versions.map(function (v) { return number(v.outcomes[o] || 0); })); });
    figureRow(body, 'approval rate', versions.map(function (v) { return rate(v.approval_rate); }));
    figureRow(body, 'mean probability', versions.map(function (v) { return v.mean_probability === null ? '–' : v.mean_probability.toFixed(4); }));
    figureRow(body, 'expected bad rate of approvals', versions.map(function (v) { return rate(v.expected_bad_rate_of_approvals); }));
    figureRow(body, 'lowest four-fifths ratio, gender', versions.map(function (v) { return lowest(v.four_fifths.gender); }));
    figureRow(body, 'lowest four-fifths ratio, age band', versions.map(function (v) { return lowest(v.four_fifths.age_band); }));
    figureRow(body, 'top reason codes', versions.map(function (v) {
      return v.top_reason_codes.slice(0, 3).map(function (r) { return r.code + ' (' + number(r.count) + ')'; }).join(', ');
    }));
    if (versions.some(function (v) { return v.labels; })) {
      ['auc', 'ks', 'brier'].forEach(function (m) {
        figureRow(body, m.toUpperCase() + ' (labels)', versions.map(function (v) { return v.labels && v.labels[m] !== null ? v.labels[m].toFixed(4) : '–'; }));
      });
      figureRow(body, 'bad rate of labelled approvals', versions.map(function (v) { return v.labels ? rate(v.labels.bad_rate_of_approvals) : '–'; }));
    }
    drawOutcomes(versions, outcomes);
    drawSwaps(summary.swaps || []);
    var invalid = $('batch-invalid');
    LC.clear(invalid);
    (summary.invalid_rows || []).slice(0, 20).forEach(function (r) {
      invalid.appendChild(LC.el('li', 'line ' + r.line + ': ' + r.errors.map(function (e) { return e.field + ': ' + e.problem; }).join('; ')));
    });
    if (!invalid.firstChild) invalid.appendChild(LC.el('li', 'none', 'muted'));
    else if (summary.invalid_rows_not_listed) invalid.appendChild(LC.el('li', 'and ' + number(summary.invalid_rows_not_listed) + ' more', 'muted'));
    var downloads = $('batch-downloads');
    LC.clear(downloads);
    if (batch.results) {
      var link = LC.el('a', 'Summary (JSON)');
      link.href = batch.results.summary_url;
      link.rel = 'noopener';
      downloads.appendChild(link);
      // The view lists the first page of parts (results.next_parts_from names the next): the count is all of them.
      downloads.appendChild(document.createTextNode(' · ' + batch.results.parts_total + ' result file(s), gzip JSON Lines: '));
      batch.results.parts.forEach(function (url, index) {
        var part = LC.el('a', String(index + 1));
        part.href = url;
        part.rel = 'noopener';
        downloads.appendChild(part);
        downloads.appendChild(document.createTextNode(' '));
      });
    }
    $('batch-outcome').hidden = false;
    $('batch-outcome').dataset.versions = String(versions.length);
  }

  function barChart(name, id, stacked) {
    if (charts[name]) charts[name].destroy();
    charts[name] = new window.Chart($(id), {
      type: 'bar',
      data: { labels: [], datasets: [] },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: { legend: { position: 'bottom' } },
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true, ticks: { precision: 0 } } }
      }
    });
    return charts[name];
  }

  function drawOutcomes(versions, outcomes) {
    var chart = barChart('outcomes', 'batch-outcomes-chart', true);
    chart.data.labels = versions.map(function (v) { return v.version_id; });
    chart.data.datasets = outcomes.map(function (o) {
      return { label: o.replace('_', ' '), data: versions.map(function (v) { return v.outcomes[o] || 0; }), backgroundColor: LC.OUTCOME_COLOURS[o] };
    });
    chart.update();
    var canvas = chart.canvas;
    canvas.dataset.rendered = 'true';
    // What is drawn, for the browser test and screen readers: rows per version (all outcomes).
    canvas.dataset.totals = versions.map(function (v) { return outcomes.reduce(function (sum, o) { return sum + (v.outcomes[o] || 0); }, 0); }).join(',');
  }

  function drawSwaps(swaps) {
    var chart = barChart('swaps', 'batch-swaps-chart', false);
    chart.data.labels = SWAPS.map(function (s) { return s[1]; });
    chart.data.datasets = swaps.map(function (swap, index) {
      return { label: swap.version_id, data: SWAPS.map(function (s) { return swap[s[0]]; }), backgroundColor: SERIES_COLOURS[index % SERIES_COLOURS.length] };
    });
    chart.update();
    $('batch-swaps-caption').textContent = swaps.length
      ? 'Swap set against ' + swaps[0].against + ' (rows whose outcome changes)'
      : 'Swap set: one version only, nothing to compare';
    var canvas = chart.canvas;
    canvas.dataset.rendered = 'true';
    canvas.dataset.swaps = swaps.map(function (swap) { return SWAPS.map(function (s) { return swap[s[0]]; }).join('/'); }).join(',');
  }

  // ------------------------------------------------------------------ the page
  function show() {
    var who = LC.me();
    var select = $('batch-owner');
    // A staff sign-in runs backtests unless the officer chose otherwise; without one only the API key can.
    select.querySelector('option[value="staff"]').disabled = !who;
    if (!who) select.value = 'client';
    else if (!select.dataset.chosen) select.value = 'staff';
    if (!who && !LC.hasApiKey()) {
      // Nobody to ask as: say so rather than send a request bound to be refused.
      LC.clear($('batches-table').querySelector('tbody'));
      $('batches-caption').textContent = 'Sign in as staff, or set an API key at the top, to see and run batches.';
      $('batches-more').hidden = true;
      return;
    }
    loadList(true);
    if (shown) openBatch(shown);
  }

  function hide() { stopPolling(); }

  LC.pages.batches = { show: show, hide: hide };

  document.addEventListener('DOMContentLoaded', function () {
    $('batch-form').addEventListener('submit', submit);
    $('batches-more').addEventListener('click', function () { loadList(false); });
    // A key set while this page is shown (console.js stores it first: its listener came first).
    $('key-form').addEventListener('submit', function () { if (!$('view-batches').hidden) show(); });
    $('batch-owner').addEventListener('change', function () {
      $('batch-owner').dataset.chosen = 'true';
      shown = null;
      stopPolling();
      $('batch-detail').hidden = true;
      loadList(true);
    });
  });
})();

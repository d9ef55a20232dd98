// The loan-officer console: plain JS, no build step, served under the API's CSP (default-src
// 'self'): no inline script or style, every element made with the DOM API and textContent, so no
// API value is ever parsed as HTML. The officer never sees a stack trace or raw JSON: every
// failure is turned into a sentence (see describeFailure) and 400 details go next to their fields.
(function () {
  'use strict';

  // The API's base path: "" locally and on CloudFront, "/<stage>" on API Gateway's own host (the page
  // is <base>/console). CloudFront also serves it at "/" (its default root object): no trailing slash,
  // or "//openapi.json" would name another host.
  var BASE = window.location.pathname.replace(/\/console\/?$/, '').replace(/\/$/, '');
  var KEY_STORAGE = 'loan-console.api-key';
  var TOKEN_STORAGE = 'loan-console.staff-token';
  var POLL_EVERY_MS = 500;
  var POLL_FOR_MS = 30000;

  var schema = null; // components.schemas.Application from /openapi.json
  var sample = null; // the document's request example
  var reasonCodes = [];
  var lastApplication = null; // what the last decision was asked for (the counteroffer changes it)
  var chart = null;
  var retryAction = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  // ------------------------------------------------------------------ status, errors, loading
  function showBanner(text, retry) {
    $('banner-text').textContent = text;
    retryAction = retry || null;
    $('banner-retry').hidden = !retry;
    $('banner').hidden = false;
  }

  function hideBanner() { $('banner').hidden = true; retryAction = null; }

  function setLoading(on) { $('loading').hidden = !on; document.body.setAttribute('aria-busy', on ? 'true' : 'false'); }

  function Failure(kind, status, message, details, retryAfter) {
    this.kind = kind; this.status = status; this.message = message;
    this.details = details || []; this.retryAfter = retryAfter;
  }

  function describeFailure(failure) {
    var wait = failure.retryAfter ? ' Retry in ' + failure.retryAfter + ' s.' : '';
    switch (failure.kind) {
      case 'network': return 'The connection to the service was lost. Check the network and retry.';
      case 'throttled': return 'Too many requests for this API key right now.' + wait;
      case 'unavailable': return 'The service is temporarily unavailable; nothing was saved.' + wait;
      case 'forbidden': return 'The API key is missing or not valid: enter the key at the top of the page.';
      case 'unauthorized': return 'Sign-in needed: paste a valid staff ID token (it may have expired).';
      case 'validation': return 'Some fields need attention: see the messages next to them.';
      case 'not_found': return 'Not found (it may belong to another client, or the id is wrong).';
      case 'conflict': return failure.message || 'Someone else changed this first; reload and try again.';
      case 'server': return 'The service had a problem answering. Please retry in a moment.';
      default: return failure.message || 'The request failed.';
    }
  }

  function failureFrom(response, body) {
    var status = response.status;
    var retryAfter = response.headers.get('Retry-After');
    var error = body && typeof body === 'object' && body.error ? body.error : {};
    // Only the API's own short message is ever shown, never the body itself.
    var message = typeof error.message === 'string' ? error.message : '';
    if (status === 400) return new Failure('validation', status, message, error.details);
    if (status === 401) return new Failure('unauthorized', status, message);
    if (status === 403) return new Failure(body && body.error && body.error.code === 'forbidden' && response.url.indexOf('/v1/reviews') >= 0 ? 'unauthorized' : 'forbidden', status, message);
    if (status === 404) return new Failure('not_found', status, message);
    if (status === 409 || status === 422) return new Failure('conflict', status, message, error.details);
    if (status === 429) return new Failure('throttled', status, message, [], retryAfter);
    if (status === 503) return new Failure('unavailable', status, message, [], retryAfter);
    if (status >= 500) return new Failure('server', status, message);
    return new Failure('other', status, message);
  }

  // One request to the API; resolves with {status, body, response} for 2xx, rejects with a Failure.
  function api(method, path, options) {
    options = options || {};
    var headers = { 'Accept': options.accept || 'application/json' };
    if (options.staff) {
      var token = sessionStorage.getItem(TOKEN_STORAGE);
      if (token) headers['Authorization'] = token;
    } else {
      var key = sessionStorage.getItem(KEY_STORAGE);
      if (key) headers['x-api-key'] = key;
    }
    var init = { method: method, headers: headers, credentials: 'omit' };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    return fetch(BASE + path, init).then(function (response) {
      var type = response.headers.get('Content-Type') || '';
      var read = type.indexOf('application/json') === 0 ? response.json() : response.text();
      return read.catch(function () { return null; }).then(function (body) {
        if (!response.ok) throw failureFrom(response, body);
        return { status: response.status, body: body, response: response };
      });
    }, function () {
      throw new Failure('network', 0, '');
    });
  }

  function report(failure, retry) {
    if (!(failure instanceof Failure)) {
      // A bug in this page: say so without showing its details to the officer.
      if (window.console) window.console.error(failure);
      failure = new Failure('other', 0, 'Something went wrong in the console. Reload the page.');
    }
    var canRetry = ['network', 'throttled', 'unavailable', 'server'].indexOf(failure.kind) >= 0;
    showBanner(describeFailure(failure), canRetry ? retry : null);
  }

  // ------------------------------------------------------------------ credentials
  function initCredentials() {
    var key = sessionStorage.getItem(KEY_STORAGE);
    if (key) { $('api-key').value = key; $('key-state').textContent = 'key set for this tab'; }
    $('key-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var value = $('api-key').value.trim();
      if (value) sessionStorage.setItem(KEY_STORAGE, value); else sessionStorage.removeItem(KEY_STORAGE);
      $('key-state').textContent = value ? 'key set for this tab' : 'no key';
      hideBanner();
    });
    var token = sessionStorage.getItem(TOKEN_STORAGE);
    if (token) $('staff-token').value = token;
    $('token-form').addEventListener('submit', function (event) {
      event.preventDefault();
      var value = $('staff-token').value.trim();
      if (value) sessionStorage.setItem(TOKEN_STORAGE, value); else sessionStorage.removeItem(TOKEN_STORAGE);
      hideBanner();
      loadReviews();
    });
    $('banner-retry').addEventListener('click', function () {
      var action = retryAction;
      hideBanner();
      if (action) action();
    });
  }

  // ------------------------------------------------------------------ the application form
  function unitOf(description) {
    if (/INR per month/.test(description)) return 'INR / month';
    if (/INR/.test(description)) return 'INR';
    if (/in months/.test(description)) return 'months';
    if (/years|Years/.test(description)) return 'years';
    return '';
  }

  function hintFor(property) {
    var parts = [];
    var unit = unitOf(property.description || '');
    if (property.minimum !== undefined && property.maximum !== undefined) {
      parts.push(property.minimum.toLocaleString('en-IN') + '–' + property.maximum.toLocaleString('en-IN') + (unit ? ' ' + unit : ''));
    } else if (unit) {
      parts.push(unit);
    }
    if (property['x-personal-data']) parts.push('personal data: masked before it is stored');
    return parts.join(' · ');
  }

  function buildForm() {
    var container = $('fields');
    clear(container);
    var required = schema.required || [];
    Object.keys(schema.properties).forEach(function (name) {
      var property = schema.properties[name];
      var isRequired = required.indexOf(name) >= 0;
      var field = el('div', null, 'field');
      field.id = 'field-' + name;
      var label = el('label', (property.description || name).replace(/ \(JSON true\/false\)/, '') + (isRequired ? ' *' : ''));
      label.htmlFor = 'in-' + name;
      var input;
      if (property.enum || property.type === 'boolean') {
        input = document.createElement('select');
        input.appendChild(el('option', isRequired ? 'Choose…' : '(not given)')).value = '';
        var values = property.type === 'boolean' ? [true, false] : property.enum;
        values.forEach(function (value) {
          var option = el('option', property.type === 'boolean' ? (value ? 'Yes' : 'No') : value);
          option.value = String(value);
          input.appendChild(option);
        });
      } else {
        input = document.createElement('input');
        if (property.type === 'integer') {
          input.type = 'number'; input.step = '1'; input.inputMode = 'numeric';
          if (property.minimum !== undefined) input.min = String(property.minimum);
          if (property.maximum !== undefined) input.max = String(property.maximum);
        } else {
          input.type = 'text';
          if (property.maxLength) input.maxLength = property.maxLength;
        }
      }
      input.id = 'in-' + name;
      input.name = name;
      if (isRequired) input.setAttribute('aria-required', 'true');
      var hint = el('span', hintFor(property), 'hint');
      hint.id = 'hint-' + name;
      var error = el('span', '', 'error');
      error.id = 'err-' + name;
      error.setAttribute('role', 'alert');
      input.setAttribute('aria-describedby', hint.id + ' ' + error.id);
      field.appendChild(label); field.appendChild(input); field.appendChild(hint); field.appendChild(error);
      container.appendChild(field);
    });
  }

  function readForm() {
    var application = {};
    Object.keys(schema.properties).forEach(function (name) {
      var property = schema.properties[name];
      var raw = $('in-' + name).value.trim();
      if (raw === '') return; // omitted: the API names a missing required field
      if (property.type === 'boolean') application[name] = raw === 'true';
      else if (property.type === 'integer') {
        // Anything that is not a whole number is sent as typed, and the API names the field.
        application[name] = /^-?\d+$/.test(raw) ? Number(raw) : raw;
      } else application[name] = raw;
    });
    return application;
  }

  function fillForm(application) {
    Object.keys(schema.properties).forEach(function (name) {
      var value = application[name];
      $('in-' + name).value = value === undefined || value === null ? '' : String(value);
    });
  }

  function clearFieldErrors() {
    document.querySelectorAll('.field.invalid').forEach(function (field) { field.classList.remove('invalid'); });
    document.querySelectorAll('.field .error').forEach(function (error) { error.textContent = ''; });
    document.querySelectorAll('.field [aria-invalid]').forEach(function (input) { input.removeAttribute('aria-invalid'); });
    clear($('form-errors')); $('form-errors').hidden = true;
  }

  function showFieldErrors(details) {
    var first = null;
    var others = $('form-errors');
    details.forEach(function (detail) {
      var error = $('err-' + detail.field);
      if (error) {
        error.textContent = detail.problem;
        $('field-' + detail.field).classList.add('invalid');
        $('in-' + detail.field).setAttribute('aria-invalid', 'true');
        if (!first) first = $('in-' + detail.field);
      } else {
        // A field the form has no input for (an unknown field, the body): listed under the form.
        others.appendChild(el('li', detail.field + ': ' + detail.problem));
        others.hidden = false;
      }
    });
    if (first) first.focus();
  }

  function submitApplication(application) {
    hideBanner();
    clearFieldErrors();
    lastApplication = application;
    var asynchronous = document.querySelector('input[name="mode"]:checked').value === 'async';
    setLoading(true);
    var done = asynchronous
      ? api('POST', '/v1/applications', { body: application }).then(function (result) { return poll(result.body.status_url, Date.now()); })
      : api('POST', '/v1/decisions', { body: application }).then(function (result) { return result.body; });
    return done.then(function (decision) {
      setLoading(false);
      showDecision(decision);
    }, function (failure) {
      setLoading(false);
      showView('new');
      if (failure instanceof Failure && failure.kind === 'validation') showFieldErrors(failure.details);
      report(failure, function () { submitApplication(application); });
    });
  }

  function poll(statusUrl, started) {
    return api('GET', statusUrl).then(function (result) {
      var status = result.body.status;
      if (status === 'DECIDED') return result.body.decision;
      if (status === 'FAILED') throw new Failure('other', 0, 'The application could not be decided: ' + (result.body.failure_reason || 'see the service logs') + '.');
      if (Date.now() - started > POLL_FOR_MS) throw new Failure('other', 0, 'Still pending after 30 s; it will be decided later — look it up by its id.');
      return new Promise(function (resolve) { setTimeout(resolve, POLL_EVERY_MS); }).then(function () { return poll(statusUrl, started); });
    });
  }

  // ------------------------------------------------------------------ the decision view
  function percent(value) { return (Math.round(value * 1000) / 10).toFixed(1) + ' %'; }

  function money(value) { return 'INR ' + Number(value).toLocaleString('en-IN'); }

  function showDecision(decision) {
    var outcome = $('decision-outcome');
    outcome.textContent = decision.outcome.replace('_', ' ');
    outcome.className = 'outcome ' + decision.outcome;
    $('decision-by').textContent = decision.decided_by;
    $('decision-probability').textContent = percent(decision.probability);
    $('decision-band').textContent = decision.risk_band;
    $('decision-id').textContent = decision.decision_id;

    var reasons = $('decision-reasons');
    clear(reasons);
    (decision.reasons || []).forEach(function (reason) { reasons.appendChild(el('li', reason.text + ' (' + reason.code + ')')); });
    if (!reasons.firstChild) reasons.appendChild(el('li', 'None: nothing counted against the applicant.', 'muted'));

    var offer = decision.counteroffer;
    $('counteroffer').hidden = !offer;
    if (offer) {
      $('counteroffer-text').textContent = money(offer.loan_amount) + ' over ' + offer.loan_tenure_months + ' months at ' +
        percent(offer.annual_rate) + ' a year: EMI ' + money(offer.emi) + ', FOIR ' + percent(offer.foir) + ' → ' + offer.outcome + '.';
      $('apply-counteroffer').onclick = null;
      $('apply-counteroffer').dataset.amount = String(offer.loan_amount);
      $('apply-counteroffer').dataset.tenure = String(offer.loan_tenure_months);
    }

    var body = $('suggestions').querySelector('tbody');
    clear(body);
    (decision.suggestions || []).forEach(function (suggestion) {
      var row = el('tr');
      row.appendChild(el('td', suggestion.action));
      row.appendChild(el('td', suggestion.target === null || suggestion.target === undefined ? '' : String(suggestion.target)));
      var effect = typeof suggestion.effect === 'number' ? 'probability ' + percent(suggestion.effect) : String(suggestion.effect);
      row.appendChild(el('td', effect + (suggestion.decisive ? ' (decisive)' : '')));
      body.appendChild(row);
    });
    if (!body.firstChild) { var none = el('tr'); var cell = el('td', 'No suggestions.', 'muted'); cell.colSpan = 3; none.appendChild(cell); body.appendChild(none); }

    drawChart(decision.contributions || []);
    showView('decision');
    loadNotice(decision);
    $('decision-title').focus();
  }

  function loadNotice(decision) {
    var notice = $('notice-text');
    if (!decision.notice) { notice.textContent = 'No notice: an approval needs none.'; return; }
    notice.textContent = 'Loading the notice…';
    api('GET', '/v1/decisions/' + encodeURIComponent(decision.decision_id) + '/notice', { accept: 'text/plain' }).then(function (result) {
      notice.textContent = result.body;
    }, function (failure) {
      // The decision may not have been stored (DynamoDB down): the notice came with it anyway.
      notice.textContent = decision.notice.text || describeFailure(failure);
    });
  }

  function drawChart(contributions) {
    var sorted = contributions.slice().sort(function (a, b) { return b.points - a.points; });
    var canvas = $('points-chart');
    canvas.dataset.rendered = 'false';
    if (chart) chart.destroy();
    chart = new window.Chart(canvas, {
      type: 'bar',
      data: {
        labels: sorted.map(function (c) { return c.factor.replace(/_/g, ' '); }),
        datasets: [
          { label: 'Points', data: sorted.map(function (c) { return c.points; }), backgroundColor: '#0b57d0' },
          { label: 'Maximum', data: sorted.map(function (c) { return c.max_points; }), backgroundColor: '#c9d7f2' }
        ]
      },
      options: {
        indexAxis: 'y', responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { title: { display: true, text: 'scorecard points' } } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
    canvas.dataset.rendered = 'true';
    canvas.dataset.bars = String(sorted.length);
  }

  function applyCounteroffer() {
    var button = $('apply-counteroffer');
    var changed = Object.assign({}, lastApplication, {
      loan_amount: Number(button.dataset.amount),
      loan_tenure_months: Number(button.dataset.tenure)
    });
    fillForm(changed);
    submitApplication(changed);
  }

  // ------------------------------------------------------------------ the review queue
  function age(seconds) {
    var hours = Math.floor(Math.abs(seconds) / 3600);
    return hours >= 24 ? Math.floor(hours / 24) + ' d ' + (hours % 24) + ' h' : hours + ' h ' + Math.floor((Math.abs(seconds) % 3600) / 60) + ' min';
  }

  function loadReviews() {
    if (!sessionStorage.getItem(TOKEN_STORAGE)) { showBanner('Sign in: paste a staff ID token.'); return; }
    setLoading(true);
    api('GET', '/v1/reviews?status=open&limit=100', { staff: true }).then(function (result) {
      setLoading(false);
      var body = $('review-table').querySelector('tbody');
      clear(body);
      result.body.items.forEach(function (item) {
        var row = el('tr');
        row.appendChild(el('td', item.review_id.slice(0, 8)));
        row.appendChild(el('td', money(item.loan_amount)));
        row.appendChild(el('td', item.model_outcome));
        row.appendChild(el('td', age(item.age_seconds)));
        var sla = el('td', item.seconds_to_sla < 0 ? 'breached ' + age(item.seconds_to_sla) + ' ago' : age(item.seconds_to_sla) + ' left', item.seconds_to_sla < 0 ? 'breached' : '');
        row.appendChild(sla);
        var action = el('td');
        var claim = el('button', 'Claim');
        claim.type = 'button';
        claim.className = 'claim';
        claim.dataset.reviewId = item.review_id;
        claim.setAttribute('aria-label', 'Claim case ' + item.review_id.slice(0, 8));
        claim.addEventListener('click', function () { claimReview(item.review_id); });
        action.appendChild(claim);
        row.appendChild(action);
        body.appendChild(row);
      });
      if (!body.firstChild) { var none = el('tr'); var cell = el('td', 'No open cases.', 'muted'); cell.colSpan = 6; none.appendChild(cell); body.appendChild(none); }
    }, function (failure) { setLoading(false); report(failure, loadReviews); });
  }

  function claimReview(reviewId) {
    hideBanner();
    api('POST', '/v1/reviews/' + encodeURIComponent(reviewId) + '/claim', { staff: true }).then(function () {
      return showReview(reviewId);
    }).catch(function (failure) { report(failure, function () { claimReview(reviewId); }); });
  }

  function showReview(reviewId) {
    return api('GET', '/v1/reviews/' + encodeURIComponent(reviewId), { staff: true }).then(function (result) {
      var detail = result.body;
      $('review-detail').hidden = false;
      $('review-detail').dataset.reviewId = reviewId;
      $('review-id').textContent = reviewId.slice(0, 8) + ' · ' + detail.status;
      var reasons = $('review-reasons');
      clear(reasons);
      (detail.reasons || []).forEach(function (reason) { reasons.appendChild(el('li', reason.text + ' (' + reason.code + ')')); });
      var verified = $('audit-verified');
      verified.textContent = detail.audit.verified ? '✓ verified' : '✗ broken at entry ' + detail.audit.first_broken_seq;
      verified.className = detail.audit.verified ? 'verified' : 'broken';
      var entries = $('audit-entries');
      clear(entries);
      detail.audit.entries.forEach(function (entry) { entries.appendChild(el('li', entry.at + ' · ' + entry.action + ' · ' + entry.actor)); });
      $('review-outcome').focus();
    });
  }

  function decideReview(event) {
    event.preventDefault();
    var reviewId = $('review-detail').dataset.reviewId;
    var codes = Array.prototype.map.call($('review-reasons-select').selectedOptions, function (option) { return option.value; });
    var body = { outcome: $('review-outcome').value, reason_codes: codes };
    var note = $('review-note').value.trim();
    if (note) body.note = note;
    hideBanner();
    api('POST', '/v1/reviews/' + encodeURIComponent(reviewId) + '/decision', { staff: true, body: body }).then(function () {
      return showReview(reviewId).then(loadReviews);
    }).catch(function (failure) {
      if (failure instanceof Failure && failure.kind === 'validation') {
        showBanner(failure.details.map(function (d) { return d.field + ': ' + d.problem; }).join('; '));
      } else report(failure, function () { decideReview(event); });
    });
  }

  // ------------------------------------------------------------------ the operations view
  // /metrics is Prometheus text (per API instance); counters only grow, so each chart point is the
  // difference between two successive scrapes: a rate over the interval, not since the start.
  var OPS_REFRESH_MS = 3000;
  var OPS_POINTS = 40; // two minutes of history at 3 s
  var opsTimer = null;
  var opsPrevious = null; // the last scrape's samples
  var opsCharts = {};
  var opsBannerShown = false; // the banner is the ops view's own: a good refresh clears it

  // {name: [{labels: {...}, value: n}]}; comments and malformed lines are skipped.
  function parsePrometheus(text) {
    var samples = {};
    text.split('\n').forEach(function (line) {
      var match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)$/.exec(line.trim());
      if (!match) return;
      var labels = {};
      (match[2] || '').replace(/(\w+)="([^"]*)"/g, function (all, key, value) { labels[key] = value; return all; });
      (samples[match[1]] = samples[match[1]] || []).push({ labels: labels, value: Number(match[3]) });
    });
    return samples;
  }

  function sampleValue(samples, name, labelName, labelValue) {
    var found = (samples[name] || []).filter(function (s) { return labelName === undefined || s.labels[labelName] === labelValue; });
    return found.length ? found[0].value : null;
  }

  // A counter's increase between scrapes; a smaller value means the instance restarted (from zero).
  function increase(now, before) {
    if (now === null) return null;
    if (before === null || before === undefined || now < before) return now;
    return now - before;
  }

  // histogram_quantile over the interval's bucket increases: linear inside the bucket that holds
  // the rank, as Prometheus does; the +Inf bucket answers with the largest finite bound.
  function quantile(q, buckets) {
    var total = buckets.length ? buckets[buckets.length - 1].count : 0;
    if (!total) return null;
    var rank = q * total;
    var lower = 0; var below = 0;
    for (var i = 0; i < buckets.length; i++) {
      var bucket = buckets[i];
      if (bucket.count >= rank) {
        if (!isFinite(bucket.le)) return lower;
        var inBucket = bucket.count - below;
        return inBucket ? lower + (bucket.le - lower) * (rank - below) / inBucket : bucket.le;
      }
      lower = bucket.le; below = bucket.count;
    }
    return lower;
  }

  function bucketIncreases(now, before) {
    return (now.loan_api_request_duration_seconds_bucket || []).map(function (sample) {
      var le = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le);
      var previous = before ? sampleValue(before, 'loan_api_request_duration_seconds_bucket', 'le', sample.labels.le) : null;
      return { le: le, count: increase(sample.value, previous) };
    }).sort(function (a, b) { return a.le - b.le; });
  }

  function statusesIn(samples, first) {
    return (samples.loan_api_requests_by_status || []).reduce(function (sum, s) {
      return String(s.labels.status).charAt(0) === first ? sum + s.value : sum;
    }, 0);
  }

  function lineChart(id, series, yTitle) {
    return new window.Chart($(id), {
      type: 'line',
      data: { labels: [], datasets: series.map(function (s) { return { label: s[0], data: [], borderColor: s[1], backgroundColor: s[1], spanGaps: true, pointRadius: 2 }; }) },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: yTitle } } },
        plugins: { legend: { position: 'bottom' } }
      }
    });
  }

  function ensureOpsCharts() {
    if (opsCharts.requests) return;
    opsCharts.requests = lineChart('ops-requests', [['requests/s', '#0b57d0']], 'requests per second');
    opsCharts.latency = lineChart('ops-latency', [['p50', '#146c2e'], ['p95', '#8a5300'], ['p99', '#b3261e']], 'milliseconds');
    opsCharts.errors = lineChart('ops-errors', [['4xx', '#8a5300'], ['5xx', '#b3261e']], 'responses');
    opsCharts.backlog = lineChart('ops-backlog', [['queue waiting', '#0b57d0'], ['queue in flight', '#7aa7ff'], ['reviews open', '#8a5300']], 'count');
    opsCharts.decisions = new window.Chart($('ops-decisions'), {
      type: 'bar',
      data: { labels: [], datasets: [{ label: 'decisions', data: [], backgroundColor: [] }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: false } },
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    });
  }

  function push(chartName, label, values) {
    var c = opsCharts[chartName];
    c.data.labels.push(label);
    values.forEach(function (value, index) { c.data.datasets[index].data.push(value); });
    if (c.data.labels.length > OPS_POINTS) {
      c.data.labels.shift();
      c.data.datasets.forEach(function (dataset) { dataset.data.shift(); });
    }
    c.update();
    var canvas = c.canvas;
    canvas.dataset.rendered = 'true';
    canvas.dataset.points = String(c.data.labels.length);
    // The newest non-null value of each series, for the tests and for screen readers' label.
    canvas.dataset.latest = values.map(function (v) { return v === null ? '' : String(Math.round(v * 1000) / 1000); }).join(',');
  }

  var OUTCOME_COLOURS = { approved: '#146c2e', declined: '#b3261e', manual_review: '#8a5300' };

  function showOps(metricsText, health, at) {
    ensureOpsCharts();
    var now = parsePrometheus(metricsText);
    var label = at.toLocaleTimeString('en-GB');
    var before = opsPrevious;
    if (before) {
      var seconds = Math.max((at - before.at) / 1000, 0.001);
      var requests = increase(sampleValue(now, 'loan_api_requests_total'), sampleValue(before.samples, 'loan_api_requests_total'));
      push('requests', label, [requests === null ? null : requests / seconds]);
      var buckets = bucketIncreases(now, before.samples);
      push('latency', label, [0.5, 0.95, 0.99].map(function (q) { var v = quantile(q, buckets); return v === null ? null : v * 1000; }));
      push('errors', label, [increase(statusesIn(now, '4'), statusesIn(before.samples, '4')), increase(statusesIn(now, '5'), statusesIn(before.samples, '5'))]);
    }
    opsPrevious = { samples: now, at: at };

    var depth = health && health.queue_depth;
    var open = sampleValue(now, 'loan_reviews_open');
    push('backlog', label, [depth ? depth.visible : null, depth ? depth.in_flight : null, open]);
    var outcomes = (now.loan_decisions_by_outcome || []).slice().sort(function (a, b) { return a.labels.outcome < b.labels.outcome ? -1 : 1; });
    var bars = opsCharts.decisions;
    bars.data.labels = outcomes.map(function (s) { return s.labels.outcome.replace('_', ' '); });
    bars.data.datasets[0].data = outcomes.map(function (s) { return s.value; });
    bars.data.datasets[0].backgroundColor = outcomes.map(function (s) { return OUTCOME_COLOURS[s.labels.outcome] || '#5b6475'; });
    bars.update();
    bars.canvas.dataset.rendered = 'true';
    bars.canvas.dataset.total = String(outcomes.reduce(function (sum, s) { return sum + s.value; }, 0));

    $('ops-queue-visible').textContent = depth ? String(depth.visible) : 'unknown';
    $('ops-queue-inflight').textContent = depth ? String(depth.in_flight) : 'unknown';
    $('ops-reviews-open').textContent = open === null ? 'unknown' : String(open);
    var oldest = sampleValue(now, 'loan_review_oldest_open_age_seconds');
    $('ops-reviews-oldest').textContent = oldest === null ? 'unknown' : (open ? age(oldest) : 'none open');
    var breached = sampleValue(now, 'loan_reviews_sla_breached');
    $('ops-reviews-breached').textContent = breached === null ? 'unknown' : String(breached);
    $('ops-health').textContent = health ? health.status : 'unknown';
    $('ops-status').textContent = 'Refreshed at ' + label + (before ? '' : '; the rates need a second refresh.');
    $('view-ops').dataset.refreshes = String(Number($('view-ops').dataset.refreshes || '0') + 1);
  }

  function refreshOps() {
    var at = new Date();
    // /health/detailed is public and may fail alone (it is throttled on its own): the metrics still show.
    var health = api('GET', '/health/detailed').then(function (r) { return r.body; }, function () { return null; });
    return api('GET', '/metrics', { accept: 'text/plain' }).then(function (metrics) {
      return health.then(function (body) {
        if (opsBannerShown) { hideBanner(); opsBannerShown = false; }
        showOps(metrics.body, body, at);
      });
    }).catch(function (failure) {
      report(failure, refreshOps);
      opsBannerShown = true;
      $('ops-status').textContent = 'Not refreshed: ' + describeFailure(failure instanceof Failure ? failure : new Failure('other', 0, ''));
    });
  }

  function startOps() {
    stopOps();
    refreshOps();
    opsTimer = window.setInterval(refreshOps, OPS_REFRESH_MS);
  }

  function stopOps() {
    if (opsTimer !== null) window.clearInterval(opsTimer);
    opsTimer = null;
  }

  // ------------------------------------------------------------------ views
  function showView(name) {
    ['new', 'decision', 'reviews', 'ops'].forEach(function (view) { $('view-' + view).hidden = view !== name; });
    // The decision view belongs to "New application" in the navigation.
    var current = name === 'decision' ? 'new' : name;
    ['new', 'reviews', 'ops'].forEach(function (view) {
      if (view === current) $('nav-' + view).setAttribute('aria-current', 'page');
      else $('nav-' + view).removeAttribute('aria-current');
    });
    if (name !== 'ops') stopOps(); // no scraping while nobody looks (and /metrics is throttled)
  }

  function route() {
    if (window.location.hash === '#reviews') { showView('reviews'); loadReviews(); }
    else if (window.location.hash === '#ops') { showView('ops'); startOps(); }
    else if (window.location.hash === '#new' || !window.location.hash) showView('new');
  }

  function loadSchema() {
    setLoading(true);
    return api('GET', '/openapi.json').then(function (result) {
      setLoading(false);
      var document_ = result.body;
      schema = document_.components.schemas.Application;
      var examples = document_.paths['/v1/decisions'].post.requestBody.content['application/json'].examples || {};
      sample = examples.approved ? examples.approved.value : null;
      var decide = document_.paths['/v1/reviews/{review_id}/decision'];
      reasonCodes = decide ? decide.post.requestBody.content['application/json'].schema.properties.reason_codes.items.enum : [];
      var select = $('review-reasons-select');
      clear(select);
      reasonCodes.forEach(function (code) { var option = el('option', code); option.value = code; select.appendChild(option); });
      buildForm();
      document.body.dataset.ready = 'true';
    }, function (failure) { setLoading(false); report(failure, loadSchema); });
  }

  document.addEventListener('DOMContentLoaded', function () {
    initCredentials();
    $('application-form').addEventListener('submit', function (event) {
      event.preventDefault();
      if (schema) submitApplication(readForm());
    });
    $('fill-sample').addEventListener('click', function () { if (schema && sample) { fillForm(sample); clearFieldErrors(); } });
    $('apply-counteroffer').addEventListener('click', applyCounteroffer);
    $('review-decision-form').addEventListener('submit', decideReview);
    $('back-to-form').addEventListener('click', function () { showView('new'); });
    $('decision-title').tabIndex = -1;
    window.addEventListener('hashchange', route);
    loadSchema().then(route);
  });
})();

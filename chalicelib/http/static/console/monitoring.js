// The console's Monitoring page (staff: model risk and managers): the monitoring reports of
// GET /v1/monitoring/reports, one report's figures per decision version and client (score PSI and
// characteristic CSI, approval rate against the validation baseline, fairness ratios with group
// sizes, calibration, overrides) with its alerts highlighted, the approval rate over the recent
// reports per version, and a run started on request. Same rules as console.js: DOM API and
// textContent only (no API value is parsed as HTML), no inline style, failures as sentences.
// console.js owns sign-in, routing and the request helpers (window.LoanConsole).
(function () {
  'use strict';

  var RECENT_REPORTS = 12; // reports read for the approval-rate-over-time chart
  var ALL_CLIENTS = '*';
  var STATUS_COLOURS = { stable: '#146c2e', watch: '#8a5300', shifted: '#b3261e', insufficient: '#9aa3b2' };
  var VERSION_COLOURS = ['#0b57d0', '#b45309', '#146c2e', '#7c3aed', '#b3261e', '#0e7490'];

  var shown = null; // the report on the page
  var charts = {};
  var generation = 0; // a stale answer (an earlier load) is dropped

  function C() { return window.LoanConsole; }
  function $(id) { return document.getElementById(id); }
  function el(tag, text, className) { return C().el(tag, text, className); }
  function clear(node) { C().clear(node); }

  function percent(value) { return value === null || value === undefined ? '–' : (100 * value).toFixed(1) + '%'; }
  function number(value, digits) { return value === null || value === undefined ? '–' : Number(value).toFixed(digits); }
  function points(value) {
    if (value === null || value === undefined) return '–';
    return (value > 0 ? '+' : '') + (100 * value).toFixed(1) + ' points';
  }

  function row(cells, className) {
    var tr = el('tr', null, className);
    cells.forEach(function (cell, i) { tr.appendChild(el(i === 0 ? 'th' : 'td', cell)); });
    if (tr.firstChild) tr.firstChild.setAttribute('scope', 'row');
    return tr;
  }

  function fill(tableId, rows) {
    var body = $(tableId).querySelector('tbody');
    clear(body);
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function destroy(name) { if (charts[name]) { charts[name].destroy(); charts[name] = null; } }

  function chart(name, canvasId, config) {
    destroy(name);
    var canvas = $(canvasId);
    canvas.dataset.rendered = 'false';
    charts[name] = new window.Chart(canvas, config);
    canvas.dataset.rendered = 'true';
    return canvas;
  }

  // ------------------------------------------------------------------ the desk's markup
  function build() {
    var desk = $('monitoring-desk');
    if (desk.dataset.built) return;
    desk.dataset.built = 'true';
    var runForm = el('form', null, 'credentials');
    runForm.id = 'monitoring-run-form';
    runForm.noValidate = true;
    var label = el('label', 'Run monitoring now over the last');
    label.htmlFor = 'monitoring-window';
    var select = el('select');
    select.id = 'monitoring-window';
    [1, 7, 30].forEach(function (days) {
      var option = el('option', days + (days === 1 ? ' day' : ' days'));
      option.value = String(days);
      select.appendChild(option);
    });
    var button = el('button', 'Run');
    button.type = 'submit';
    button.id = 'monitoring-run';
    [label, select, button].forEach(function (node) { runForm.appendChild(node); });
    desk.appendChild(runForm);
    var runResult = el('p', null); runResult.id = 'monitoring-run-result'; runResult.setAttribute('role', 'status');
    var runError = el('p', null, 'inline-error'); runError.id = 'monitoring-run-error'; runError.setAttribute('role', 'alert');
    desk.appendChild(runResult);
    desk.appendChild(runError);

    desk.appendChild(table('monitoring-reports', 'Monitoring reports, newest first',
      ['Report', 'Created', 'Window', 'Versions', 'Decisions', 'Alerts']));
    desk.appendChild(figure('Approval rate per decision version over the recent reports (all clients)',
      'monitoring-approval-chart', 'Approval rate per version over time'));

    var detail = el('div', null, 'card');
    detail.id = 'monitoring-detail';
    detail.hidden = true;
    var heading = el('h3', null);
    heading.id = 'monitoring-heading';
    heading.tabIndex = -1;
    detail.appendChild(heading);
    var pick = el('p', null, 'credentials');
    var pickLabel = el('label', 'Version and client');
    pickLabel.htmlFor = 'monitoring-section';
    var pickSelect = el('select'); pickSelect.id = 'monitoring-section';
    pick.appendChild(pickLabel); pick.appendChild(pickSelect);
    detail.appendChild(pick);
    detail.appendChild(el('h4', 'Alerts'));
    var alerts = el('ul', null, 'monitoring-alerts'); alerts.id = 'monitoring-alerts';
    detail.appendChild(alerts);
    var facts = el('dl', null, 'figures'); facts.id = 'monitoring-facts';
    detail.appendChild(facts);
    detail.appendChild(el('h4', 'Stability against the training data (PSI of the score, CSI of each characteristic)'));
    detail.appendChild(figure(null, 'monitoring-psi-chart', 'PSI per characteristic', true));
    detail.appendChild(table('monitoring-psi', 'Under 0.10 stable, 0.10 to 0.25 watch, over 0.25 shifted; no verdict on too few decisions',
      ['Characteristic', 'PSI', 'Status', 'Decisions', 'Missing']));
    detail.appendChild(el('h4', 'Fairness: approval rate by group'));
    detail.appendChild(table('monitoring-fairness', 'Ratio to the most approved group among groups large enough to judge; equal opportunity: approval rate among loans repaid or current',
      ['Group', 'Decisions', 'Approved', 'Approval rate', 'Ratio', 'Good loans', 'Approved of good']));
    detail.appendChild(el('h4', 'Calibration: predicted against realised bad rate by score band (matured loans)'));
    detail.appendChild(figure(null, 'monitoring-calibration-chart', 'Predicted and realised bad rate by score band'));
    detail.appendChild(table('monitoring-calibration', 'Bad: 90+ days past due, default or charged off; good: current or paid off',
      ['Score band', 'Matured', 'Bad', 'Predicted bad rate', 'Realised bad rate']));
    desk.appendChild(detail);

    runForm.addEventListener('submit', startRun);
    $('monitoring-reports').addEventListener('click', function (event) {
      var link = event.target.closest('a[data-report]');
      if (!link) return;
      event.preventDefault();
      loadReport(link.dataset.report);
    });
    pickSelect.addEventListener('change', function () { if (shown) showSection(shown.sections[Number(pickSelect.value)]); });
  }

  function table(id, caption, heads) {
    var t = el('table');
    t.id = id;
    t.appendChild(el('caption', caption));
    var head = el('thead'); var tr = el('tr');
    heads.forEach(function (h) { var th = el('th', h); th.setAttribute('scope', 'col'); tr.appendChild(th); });
    head.appendChild(tr); t.appendChild(head); t.appendChild(el('tbody'));
    return t;
  }

  function figure(caption, canvasId, label, tall) {
    var f = el('figure', null, 'monitoring-figure');
    if (caption) f.appendChild(el('figcaption', caption));
    var box = el('div', null, tall ? 'ops-chart tall' : 'ops-chart');
    var canvas = el('canvas'); canvas.id = canvasId; canvas.setAttribute('role', 'img'); canvas.setAttribute('aria-label', label);
    box.appendChild(canvas); f.appendChild(box);
    return f;
  }

  // ------------------------------------------------------------------ loading
  function render(who) {
    var desk = $('monitoring-desk');
    if (!desk) return;
    desk.hidden = !who;
    if (!who) { shown = null; Object.keys(charts).forEach(destroy); }
  }

  function load() {
    if (!C().me()) { render(null); return Promise.resolve(); }
    build();
    render(C().me());
    generation += 1;
    var mine = generation;
    return C().staffApi('GET', '/v1/monitoring/reports').then(function (result) {
      if (mine !== generation) return null;
      var reports = result.body.reports || [];
      showReports(reports);
      drawApprovalOverTime(reports.slice(0, RECENT_REPORTS), mine);
      if (reports.length && !shown) return loadReport(reports[0].report_id);
      return null;
    }, function (failure) { C().report(failure, load); });
  }

  function showReports(reports) {
    fill('monitoring-reports', reports.map(function (r) {
      var link = el('a', r.report_id);
      link.href = '#monitoring';
      link.dataset.report = r.report_id;
      var tr = el('tr', null, r.alerts ? 'has-alerts' : '');
      var first = el('th'); first.setAttribute('scope', 'row'); first.appendChild(link); tr.appendChild(first);
      [r.created_at, r.window.days + (r.window.days === 1 ? ' day' : ' days'), (r.versions || []).join(', '),
        r.decisions, r.alerts ? r.alerts + ' (' + r.alert_codes.join(', ') + ')' : 'none'
      ].forEach(function (cell) { tr.appendChild(el('td', cell)); });
      return tr;
    }));
    if (!reports.length) {
      var none = el('tr'); var cell = el('td', 'No report yet: run one above.', 'muted'); cell.colSpan = 6;
      none.appendChild(cell); fill('monitoring-reports', [none]);
    }
  }

  function loadReport(reportId) {
    var mine = generation;
    return C().staffApi('GET', '/v1/monitoring/reports/' + encodeURIComponent(reportId)).then(function (result) {
      if (mine !== generation) return;
      showReport(result.body);
    }, function (failure) { C().report(failure, function () { loadReport(reportId); }); });
  }

  function startRun(event) {
    event.preventDefault();
    $('monitoring-run-error').textContent = '';
    $('monitoring-run-result').textContent = 'Running…';
    var days = Number($('monitoring-window').value);
    C().staffApi('POST', '/v1/monitoring/runs', { body: { window_days: days } }).then(function (result) {
      // 202: the run is spread over its window's day partitions; its report arrives when all are counted.
      var run = result.body;
      $('monitoring-run-result').textContent = 'Run ' + run.report_id + ' started: ' + run.parts.total + ' parts…';
      return awaitReport(run.report_id);
    }, runFailed);
  }

  function runFailed(failure) {
    $('monitoring-run-result').textContent = '';
    $('monitoring-run-error').textContent = C().describeFailure(failure);
  }

  function awaitReport(reportId) {
    return C().staffApi('GET', '/v1/monitoring/reports/' + encodeURIComponent(reportId)).then(function (result) {
      var body = result.body;
      if (body.status === 'failed') {
        $('monitoring-run-result').textContent = '';
        $('monitoring-run-error').textContent = 'Run ' + reportId + ' failed: ' + body.error;
        return null;
      }
      if (!body.sections) { // still running: ask again in a second
        $('monitoring-run-result').textContent = 'Run ' + reportId + ': ' + body.parts.done + ' of ' +
          body.parts.total + ' parts counted…';
        return new Promise(function (resolve) { setTimeout(resolve, 1000); }).then(function () {
          return awaitReport(reportId);
        });
      }
      $('monitoring-run-result').textContent = 'Report ' + body.report_id + ': ' + body.decisions + ' decisions, ' +
        body.alerts.length + (body.alerts.length === 1 ? ' alert.' : ' alerts.');
      shown = null; // the newest report, this one, is shown
      return load();
    }, runFailed);
  }

  // ------------------------------------------------------------------ one report
  function sectionName(section) {
    return section.decision_version + ' · ' + (section.client_id === ALL_CLIENTS ? 'all clients' : 'client ' + section.client_id);
  }

  function showReport(report) {
    shown = report;
    $('monitoring-detail').hidden = false;
    $('monitoring-heading').textContent = 'Report ' + report.report_id + ' · ' + report.window.from + ' to ' + report.window.to;
    var select = $('monitoring-section');
    clear(select);
    report.sections.forEach(function (section, i) {
      var option = el('option', sectionName(section) + (section.alerts.length ? ' (' + section.alerts.length + ' alerts)' : ''));
      option.value = String(i);
      select.appendChild(option);
    });
    $('monitoring-detail').dataset.report = report.report_id;
    if (report.sections.length) showSection(report.sections[0]);
    else {
      fill('monitoring-psi', []); fill('monitoring-fairness', []); fill('monitoring-calibration', []);
      clear($('monitoring-alerts')); $('monitoring-alerts').appendChild(el('li', 'No decisions in this window.', 'muted'));
    }
  }

  function showSection(section) {
    var alerts = $('monitoring-alerts');
    clear(alerts);
    section.alerts.forEach(function (alert) {
      alerts.appendChild(el('li', describeAlert(alert), 'alert'));
    });
    if (!section.alerts.length) alerts.appendChild(el('li', 'No alert.', 'muted'));

    var facts = $('monitoring-facts');
    clear(facts);
    var alerting = {};
    section.alerts.forEach(function (a) { alerting[a.code] = true; });
    [
      ['Decisions', section.decisions, false],
      ['Approval rate', percent(section.approval.rate), alerting.approval_rate_move],
      ['Validation baseline', percent(section.approval.baseline), false],
      ['Change', points(section.approval.change), alerting.approval_rate_move],
      ['Reviews closed', section.overrides.reviews_closed, false],
      ['Override rate', percent(section.overrides.rate), alerting.override_rate],
      ['Review SLA breaches', section.overrides.sla_breaches, false],
      ['AUC (matured)', number(section.performance.auc, 3), false],
      ['KS (matured)', number(section.performance.ks, 3), false],
      ['Matured loans', section.performance.matured, false]
    ].forEach(function (fact) {
      var box = el('div', null, fact[2] ? 'alert' : '');
      box.appendChild(el('dt', fact[0]));
      box.appendChild(el('dd', fact[1]));
      facts.appendChild(box);
    });

    var stability = (section.score ? [section.score] : []).concat(section.characteristics);
    fill('monitoring-psi', stability.map(function (s) {
      return row([s.name.replace(/_/g, ' '), number(s.psi, 4), s.status, s.n, s.missing], 'status-' + s.status);
    }));
    var psiCanvas = chart('psi', 'monitoring-psi-chart', {
      type: 'bar',
      data: {
        labels: stability.map(function (s) { return s.name.replace(/_/g, ' '); }),
        datasets: [{ label: 'PSI', data: stability.map(function (s) { return s.psi; }),
          backgroundColor: stability.map(function (s) { return STATUS_COLOURS[s.status]; }) }]
      },
      options: { indexAxis: 'y', responsive: true, maintainAspectRatio: false, animation: false,
        scales: { x: { beginAtZero: true, title: { display: true, text: 'population stability index' } },
          y: { ticks: { autoSkip: false } } },
        plugins: { legend: { display: false } } }
    });
    psiCanvas.dataset.bars = String(stability.length);

    var fairnessRows = [];
    section.fairness.forEach(function (f) {
      var alerted = section.alerts.some(function (a) { return a.code === 'disparate_impact' && a.metric === f.attribute; });
      fairnessRows.push(row([
        f.attribute.replace(/_/g, ' ') + ': disparate impact ' + number(f.disparate_impact, 3) +
          ', equal-opportunity gap ' + number(f.equal_opportunity_gap, 3) + ' (groups of ' + f.min_n + ' or more)',
        '', '', '', '', '', ''], alerted ? 'alert attribute' : 'attribute'));
      f.groups.forEach(function (g) {
        fairnessRows.push(row([g.group, g.n, g.approved, percent(g.approval_rate),
          g.ratio === null ? 'too few to judge' : number(g.ratio, 3), g.matured_good, percent(g.true_positive_rate)],
          g.ratio !== null && g.ratio < 0.8 ? 'low-ratio' : ''));
      });
    });
    fill('monitoring-fairness', fairnessRows);

    var bands = section.performance.calibration;
    fill('monitoring-calibration', bands.map(function (b) {
      return row([b.band, b.matured, b.bad, percent(b.predicted_bad_rate), percent(b.realised_bad_rate)]);
    }));
    var calibrationCanvas = chart('calibration', 'monitoring-calibration-chart', {
      type: 'bar',
      data: {
        labels: bands.map(function (b) { return b.band; }),
        datasets: [
          { label: 'predicted bad rate', data: bands.map(function (b) { return b.predicted_bad_rate; }), backgroundColor: '#c9d7f2' },
          { label: 'realised bad rate', data: bands.map(function (b) { return b.realised_bad_rate; }), backgroundColor: '#b3261e' }
        ]
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        scales: { y: { beginAtZero: true, title: { display: true, text: 'share of matured loans' } } },
        plugins: { legend: { position: 'bottom' } } }
    });
    calibrationCanvas.dataset.bands = String(bands.length);
    $('monitoring-detail').dataset.section = sectionName(section);
  }

  function describeAlert(alert) {
    var value = Number(alert.value);
    switch (alert.code) {
      case 'score_psi': return 'Score PSI ' + value.toFixed(3) + ' over ' + alert.threshold + ' (' + alert.n + ' decisions)';
      case 'characteristic_csi': return alert.metric.replace(/_/g, ' ') + ': CSI ' + value.toFixed(3) + ' over ' + alert.threshold + ' (' + alert.n + ' decisions)';
      case 'approval_rate_move': return 'Approval rate ' + points(value) + ' against the validation baseline (more than ' + (100 * alert.threshold).toFixed(0) + ' points; ' + alert.n + ' decisions)';
      case 'override_rate': return 'Override rate ' + percent(value) + ' over ' + percent(alert.threshold) + ' (' + alert.n + ' reviews)';
      case 'disparate_impact': return 'Disparate impact by ' + alert.metric.replace(/_/g, ' ') + ' ' + value.toFixed(3) + ' under ' + alert.threshold + ' (smallest group ' + alert.n + ')';
      case 'rejection_rate_spike': return 'Rejection rate ' + percent(value) + ' in the quarter hour from ' + alert.metric + ' (' + alert.n + ' decisions)';
      default: return alert.code + ' ' + alert.metric + ': ' + value + ' (threshold ' + alert.threshold + ', n ' + alert.n + ')';
    }
  }

  // ------------------------------------------------------------------ approval over time
  function drawApprovalOverTime(summaries, mine) {
    var reads = summaries.map(function (s) {
      return C().staffApi('GET', '/v1/monitoring/reports/' + encodeURIComponent(s.report_id)).then(
        function (result) { return result.body; }, function () { return null; });
    });
    return Promise.all(reads).then(function (reports) {
      if (mine !== generation) return;
      reports = reports.filter(Boolean).sort(function (a, b) { return a.created_at < b.created_at ? -1 : 1; });
      var versions = [];
      reports.forEach(function (r) {
        r.sections.forEach(function (s) { if (s.client_id === ALL_CLIENTS && versions.indexOf(s.decision_version) < 0) versions.push(s.decision_version); });
      });
      var canvas = chart('approval', 'monitoring-approval-chart', {
        type: 'line',
        data: {
          labels: reports.map(function (r) { return r.created_at.slice(0, 16).replace('T', ' '); }),
          datasets: versions.map(function (v, i) {
            return {
              label: v, spanGaps: true, pointRadius: 3,
              borderColor: VERSION_COLOURS[i % VERSION_COLOURS.length], backgroundColor: VERSION_COLOURS[i % VERSION_COLOURS.length],
              data: reports.map(function (r) {
                var s = r.sections.filter(function (x) { return x.client_id === ALL_CLIENTS && x.decision_version === v; })[0];
                return s && s.approval.rate !== null ? s.approval.rate : null;
              })
            };
          })
        },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
          scales: { y: { beginAtZero: true, max: 1, title: { display: true, text: 'approval rate' } } },
          plugins: { legend: { position: 'bottom' } } }
      });
      canvas.dataset.versions = String(versions.length);
      canvas.dataset.points = String(reports.length);
    });
  }

  window.LoanConsoleMonitoring = { load: load, render: render, describeAlert: describeAlert };
})();

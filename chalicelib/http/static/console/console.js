// The loan-officer console: plain JS, no build step, served under the API's CSP (default-src
// 'self'): no inline script or style, every element made with the DOM API and textContent, so no
// API value is ever parsed as HTML. The officer never sees a stack trace or raw JSON: every
// failure is turned into a sentence (see describeFailure) and 400 details go next to their fields.
// Staff sign in here too: username and password against the staff user pool's public app client
// (fetch POSTs to the IdP's JSON endpoint; no SDK): Cognito's USER_PASSWORD_AUTH where the stage's
// app client allows it (config password_flow: local, dev), else USER_SRP_AUTH (prod), whose math is
// console/srp.js. Where to send it comes from console/config.js, which the API makes from its
// environment; the page's CSP allows connect-src to that endpoint alone.
(function () {
  'use strict';

  // The API's base path: "" locally and on CloudFront, "/<stage>" on API Gateway's own host (the page
  // is <base>/console). CloudFront also serves it at "/" (its default root object): no trailing slash,
  // or "//openapi.json" would name another host.
  var BASE = window.location.pathname.replace(/\/console\/?$/, '').replace(/\/$/, '');
  var KEY_STORAGE = 'loan-console.api-key';
  // {idToken, refreshToken}: this tab only (sessionStorage), gone when the tab closes.
  var STAFF_STORAGE = 'loan-console.staff-session';
  // Refresh an ID token this close to its expiry rather than send one that dies in flight.
  var REFRESH_BEFORE_MS = 60000;
  var CONFIG = window.LOAN_CONSOLE_CONFIG || null; // null: config.js did not load
  var SIGN_IN = CONFIG ? CONFIG.staff_sign_in : null;
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
      case 'unauthorized': return 'Your staff sign-in has ended or is not valid: sign in again.';
      case 'staff_forbidden': return 'Your staff account may not do this' + (failure.message ? ': ' + failure.message : '.');
      case 'maker_checker': return failure.message || 'The maker of a proposal cannot also approve it.';
      case 'validation': return 'Some fields need attention: see the messages next to them.';
      case 'not_found': return 'Not found (it may belong to another client, or the id is wrong).';
      case 'conflict': return failure.message || 'Someone else changed this first; reload and try again.';
      case 'server': return 'The service had a problem answering. Please retry in a moment.';
      default: return failure.message || 'The request failed.';
    }
  }

  function failureFrom(response, body, staff) {
    var status = response.status;
    var retryAfter = response.headers.get('Retry-After');
    var error = body && typeof body === 'object' && body.error ? body.error : {};
    // Only the API's own short message is ever shown, never the body itself.
    var message = typeof error.message === 'string' ? error.message : '';
    if (status === 400) return new Failure('validation', status, message, error.details);
    if (status === 401) return new Failure('unauthorized', status, message);
    if (status === 403 && staff) {
      // A staff route never asks for an API key: a 403 is the desk's own rule (group, maker-checker).
      return new Failure(error.code === 'maker_checker' ? 'maker_checker' : 'staff_forbidden', status, message);
    }
    if (status === 403) return new Failure('forbidden', status, message);
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
      if (options.token) headers['Authorization'] = options.token;
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
        if (!response.ok) throw failureFrom(response, body, options.staff);
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

  // Fraud and velocity flags: code, severity and the evidence (counts and windows; never identities).
  function flagText(flag) {
    var evidence = flag.evidence || {};
    var parts = [];
    if (evidence.count !== undefined) parts.push(evidence.count + ' in ' + evidence.window_seconds + ' s');
    if (evidence.value !== undefined) parts.push('value ' + evidence.value);
    if (evidence.limit !== undefined) parts.push('limit ' + evidence.limit);
    return flag.code + ' (' + flag.severity + ')' + (parts.length ? ': ' + parts.join(', ') : '');
  }

  function showFlags(list, flags) {
    clear(list);
    (flags || []).forEach(function (flag) { list.appendChild(el('li', flagText(flag), 'flag ' + flag.severity)); });
    if (!list.firstChild) list.appendChild(el('li', 'None.', 'muted'));
  }

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
    showFlags($('decision-flags'), decision.risk_flags);

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

  // ------------------------------------------------------------------ staff sign-in (Cognito)
  // What Cognito's error types mean for a person signing in. Unknown users answer like a wrong
  // password (the pool's PreventUserExistenceErrors; moto does not, so the console makes sure).
  function signInMessage(type, message) {
    switch (type) {
      case 'NotAuthorizedException':
        if (/attempts exceeded/i.test(message)) return 'Too many failed attempts: wait a few minutes, then try again.';
        if (/disabled/i.test(message)) return 'This account is disabled: ask an administrator.';
        if (/session/i.test(message)) return 'The sign-in took too long: sign in again.';
        if (/refresh token/i.test(message)) return 'Your session has ended: sign in again.';
        return 'Incorrect username or password.';
      case 'UserNotFoundException': return 'Incorrect username or password.';
      case 'PasswordResetRequiredException': return 'Your password was reset by an administrator: ask them for a new temporary password.';
      case 'UserNotConfirmedException': return 'This account is not confirmed yet: ask an administrator.';
      case 'InvalidPasswordException': return 'That password does not meet the policy: ' + passwordRules();
      case 'InvalidParameterException': return 'This sign-in method is not enabled for this deployment\'s staff app client.';
      case 'TooManyRequestsException':
      case 'LimitExceededException': return 'Too many sign-in attempts right now: wait a moment and try again.';
      case 'network': return 'The sign-in service could not be reached. Check the network and retry.';
      case 'srp_unavailable': return 'This browser cannot do the secure sign-in (it needs WebCrypto over HTTPS): use a current browser.';
      case 'srp_failed': return 'The sign-in service sent an answer the console could not use. Please try again.';
      default: return 'Sign-in failed. Please try again.';
    }
  }

  function passwordRules() {
    var length = SIGN_IN && SIGN_IN.password_minimum_length;
    return 'at least ' + (length || 'the required number of') + ' characters, with upper- and lower-case letters, a number and a symbol.';
  }

  function SignInError(type, message) { this.type = type; this.message = message || ''; }

  // One call of the Cognito IdP JSON API (unsigned: InitiateAuth and RespondToAuthChallenge need
  // only the public app client's id). Resolves with the answer, rejects with a SignInError.
  function cognito(action, body) {
    return fetch(SIGN_IN.endpoint, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-amz-json-1.1',
        'X-Amz-Target': 'AWSCognitoIdentityProviderService.' + action
      },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store'
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (answer) {
        if (response.ok && answer) return answer;
        var type = answer && typeof answer.__type === 'string' ? answer.__type.split('#').pop() : 'unknown';
        throw new SignInError(type, answer && typeof answer.message === 'string' ? answer.message : '');
      });
    }, function () { throw new SignInError('network', ''); });
  }

  // The ID token's claims, for showing who is signed in and when the token expires. Not a check:
  // the API (API Gateway's Cognito authorizer) verifies every token it is sent.
  function claimsOf(token) {
    try {
      var part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      while (part.length % 4) part += '=';
      var bytes = Uint8Array.from(atob(part), function (c) { return c.charCodeAt(0); });
      var claims = JSON.parse(new TextDecoder().decode(bytes));
      return claims && typeof claims === 'object' ? claims : null;
    } catch (error) {
      return null;
    }
  }

  function staffSession() {
    try { return JSON.parse(sessionStorage.getItem(STAFF_STORAGE)) || null; } catch (error) { return null; }
  }

  function saveTokens(result) {
    var previous = staffSession() || {};
    // A refresh answers a new ID token only; the refresh token stays the one signed in with.
    var session = { idToken: result.IdToken, refreshToken: result.RefreshToken || previous.refreshToken || null };
    sessionStorage.setItem(STAFF_STORAGE, JSON.stringify(session));
    return session;
  }

  function me() {
    var session = staffSession();
    var claims = session && session.idToken ? claimsOf(session.idToken) : null;
    if (!claims) return null;
    var groups = claims['cognito:groups'];
    return {
      sub: claims.sub,
      username: claims['cognito:username'] || claims.email || claims.sub,
      groups: Array.isArray(groups) ? groups : (groups ? String(groups).split(/[ ,]+/) : []),
      expiresAt: Number(claims.exp || 0) * 1000
    };
  }

  function isManager() { var who = me(); return !!who && who.groups.indexOf('manager') >= 0; }

  function refreshTokens() {
    var session = staffSession();
    if (!SIGN_IN || !session || !session.refreshToken) return Promise.reject(new Failure('unauthorized', 401, ''));
    return cognito('InitiateAuth', {
      AuthFlow: 'REFRESH_TOKEN_AUTH',
      ClientId: SIGN_IN.client_id,
      AuthParameters: { REFRESH_TOKEN: session.refreshToken }
    }).then(function (answer) {
      if (!answer.AuthenticationResult) throw new SignInError('unknown', '');
      return saveTokens(answer.AuthenticationResult).idToken;
    }, function (error) {
      if (error.type === 'network') throw new Failure('network', 0, '');
      // Revoked, expired (a working day) or refused: only a new sign-in helps.
      endSession(signInMessage(error.type === 'NotAuthorizedException' ? error.type : 'unknown', 'refresh token'));
      throw new Failure('signed_out', 401, '');
    });
  }

  // The ID token to send: the stored one, refreshed first when it expires within a minute.
  function freshToken() {
    var session = staffSession();
    var who = me();
    if (!session || !who) return Promise.reject(new Failure('unauthorized', 401, ''));
    if (who.expiresAt - Date.now() > REFRESH_BEFORE_MS || !session.refreshToken) return Promise.resolve(session.idToken);
    return refreshTokens();
  }

  // A staff request: a fresh ID token, and on a 401 one refresh and one retry before giving up.
  function staffApi(method, path, options) {
    options = Object.assign({}, options || {}, { staff: true });
    return freshToken().then(function (token) {
      return api(method, path, Object.assign({}, options, { token: token }));
    }).catch(function (failure) {
      if (!(failure instanceof Failure) || failure.kind !== 'unauthorized') throw failure;
      if (options.retried || !(staffSession() || {}).refreshToken) {
        endSession('Your staff sign-in has ended: sign in again.');
        throw new Failure('signed_out', 401, '');
      }
      return refreshTokens().then(function () {
        return staffApi(method, path, Object.assign({}, options, { retried: true }));
      });
    });
  }

  var pendingChallenge = null; // {username, session} while Cognito waits for a new password

  function showSignInError(id, text) { $(id).textContent = text; }

  function signedIn(result) {
    saveTokens(result);
    pendingChallenge = null;
    $('staff-password').value = '';
    $('new-password').value = '';
    $('new-password-again').value = '';
    renderStaff();
    loadStaffView();
  }

  // After a sign-in: the list of the staff view shown (the versions page or the review queue).
  function loadStaffView() {
    if (window.location.hash === '#versions') loadVersions();
    else if (window.location.hash === '#monitoring') monitoringPage().load();
    else if (window.location.hash === '#batches') pages.batches.show();
    else loadReviews(true);
  }

  // The first step of a sign-in: USER_PASSWORD_AUTH where the stage's app client allows it (local,
  // dev), else Cognito's SRP (USER_SRP_AUTH: console/srp.js proves the password without sending
  // it; the PASSWORD_VERIFIER answer is a signature). Both end in tokens or in another challenge.
  function passwordSignIn(username, password) {
    return cognito('InitiateAuth', {
      AuthFlow: 'USER_PASSWORD_AUTH',
      ClientId: SIGN_IN.client_id,
      AuthParameters: { USERNAME: username, PASSWORD: password }
    });
  }

  function srpSignIn(username, password) {
    var srp = window.CognitoSrp;
    if (!srp || !srp.available()) return Promise.reject(new SignInError('srp_unavailable', ''));
    var exchange = srp.start(username);
    return cognito('InitiateAuth', {
      AuthFlow: 'USER_SRP_AUTH',
      ClientId: SIGN_IN.client_id,
      AuthParameters: exchange.authParameters
    }).then(function (answer) {
      if (answer.ChallengeName !== 'PASSWORD_VERIFIER') return answer;
      return srp.passwordVerifierResponses({
        userPoolId: SIGN_IN.user_pool_id,
        password: password,
        smallA: exchange.smallA,
        largeA: exchange.largeA,
        challenge: answer.ChallengeParameters
      }).then(function (responses) {
        var request = { ChallengeName: 'PASSWORD_VERIFIER', ClientId: SIGN_IN.client_id, ChallengeResponses: responses };
        if (answer.Session) request.Session = answer.Session;
        return cognito('RespondToAuthChallenge', request);
      }, function () { throw new SignInError('srp_failed', ''); });
    });
  }

  function submitSignIn(event) {
    event.preventDefault();
    showSignInError('sign-in-error', '');
    var username = $('staff-username').value.trim();
    var password = $('staff-password').value;
    if (!username || !password) { showSignInError('sign-in-error', 'Enter your username and password.'); return; }
    $('sign-in').disabled = true;
    var signIn = SIGN_IN.password_flow ? passwordSignIn : srpSignIn;
    signIn(username, password).then(function (answer) {
      $('sign-in').disabled = false;
      if (answer.AuthenticationResult) { signedIn(answer.AuthenticationResult); return; }
      if (answer.ChallengeName === 'NEW_PASSWORD_REQUIRED') {
        var parameters = answer.ChallengeParameters || {};
        pendingChallenge = { username: parameters.USER_ID_FOR_SRP || parameters.USERNAME || username, session: answer.Session };
        $('staff-password').value = '';
        $('sign-in-form').hidden = true;
        $('new-password-form').hidden = false;
        $('new-password-rules').textContent = 'Your new password: ' + passwordRules();
        $('new-password').focus();
        return;
      }
      // MFA (optional TOTP) and other challenges are not built into the console yet.
      showSignInError('sign-in-error', 'This account needs a sign-in step the console does not support (' +
        String(answer.ChallengeName || 'unknown') + '): ask an administrator.');
    }, function (error) {
      $('sign-in').disabled = false;
      $('staff-password').value = '';
      showSignInError('sign-in-error', signInMessage(error.type, error.message));
      $('staff-password').focus();
    });
  }

  function cancelNewPassword() {
    pendingChallenge = null;
    $('new-password-form').hidden = true;
    $('sign-in-form').hidden = false;
    $('staff-username').focus();
  }

  function submitNewPassword(event) {
    event.preventDefault();
    showSignInError('new-password-error', '');
    var password = $('new-password').value;
    if (password !== $('new-password-again').value) {
      showSignInError('new-password-error', 'The two passwords differ: type the same new password twice.');
      return;
    }
    if (!pendingChallenge) { cancelNewPassword(); return; }
    $('set-new-password').disabled = true;
    cognito('RespondToAuthChallenge', {
      ChallengeName: 'NEW_PASSWORD_REQUIRED',
      ClientId: SIGN_IN.client_id,
      Session: pendingChallenge.session,
      ChallengeResponses: { USERNAME: pendingChallenge.username, NEW_PASSWORD: password }
    }).then(function (answer) {
      $('set-new-password').disabled = false;
      if (answer.AuthenticationResult) { signedIn(answer.AuthenticationResult); return; }
      showSignInError('new-password-error', 'Sign-in failed. Please try again.');
    }, function (error) {
      $('set-new-password').disabled = false;
      if (error.type === 'NotAuthorizedException') {
        // The challenge's session lasts minutes: start again from the username and password.
        cancelNewPassword();
        showSignInError('sign-in-error', signInMessage(error.type, 'session'));
        return;
      }
      showSignInError('new-password-error', signInMessage(error.type, error.message));
      $('new-password').focus();
    });
  }

  function endSession(message) {
    var session = staffSession();
    sessionStorage.removeItem(STAFF_STORAGE);
    reviewGeneration += 1; // whatever list was on its way belongs to the signed-out member of staff
    if (SIGN_IN && SIGN_IN.token_revocation && session && session.refreshToken) {
      // Best effort: in AWS the refresh token dies with the sign-out (the app client has token
      // revocation on); a failure here changes nothing for this tab, whose tokens are gone.
      cognito('RevokeToken', { ClientId: SIGN_IN.client_id, Token: session.refreshToken }).catch(function () {});
    }
    renderStaff();
    if (message) showSignInError('sign-in-error', message);
  }

  function useTokenFallback(event) {
    event.preventDefault();
    var value = $('staff-token').value.trim();
    $('staff-token').value = '';
    if (!value || !claimsOf(value)) return;
    saveTokens({ IdToken: value });
    renderStaff();
    loadStaffView();
  }

  // Who is signed in (or the sign-in form), and the desk only for a signed-in member of staff.
  function renderStaff() {
    var who = me();
    $('staff-signed-in').hidden = !who;
    $('staff-signed-out').hidden = !!who;
    $('review-desk').hidden = !who;
    $('versions-desk').hidden = !who;
    monitoringPage().render(who);
    if (who) {
      $('staff-who').textContent = 'Signed in as ' + who.username + ' · ' + (who.groups.length ? who.groups.join(', ') : 'no staff group');
      return;
    }
    $('review-detail').hidden = true;
    clear($('review-table').querySelector('tbody'));
    $('version-detail').hidden = true;
    shownVersion = null;
    clear($('versions-table').querySelector('tbody'));
    var form = $('sign-in-form');
    var unavailable = $('sign-in-unavailable');
    if (!SIGN_IN) {
      form.hidden = true;
      unavailable.hidden = false;
      unavailable.textContent = CONFIG
        ? 'Staff sign-in is not configured on this deployment (it has no staff user pool).'
        : 'The console\'s configuration could not be loaded: reload the page to sign in.';
      return;
    }
    unavailable.hidden = true;
    // The form signs in either way (password or SRP, see submitSignIn); an ID token obtained
    // elsewhere stays a way in where the console uses SRP (prod), should a browser be unable to.
    $('token-fallback').hidden = !!SIGN_IN.password_flow;
    form.hidden = !!pendingChallenge;
    form.dataset.flow = SIGN_IN.password_flow ? 'password' : 'srp';
  }

  // ------------------------------------------------------------------ the review queue
  function age(seconds) {
    var hours = Math.floor(Math.abs(seconds) / 3600);
    return hours >= 24 ? Math.floor(hours / 24) + ' d ' + (hours % 24) + ' h' : hours + ' h ' + Math.floor((Math.abs(seconds) % 3600) / 60) + ' min';
  }

  // The list is paged by the API's next_cursor (DynamoDB's page key, signed): "Load more" asks for
  // the next page with it and appends; a new status or page size starts again from the first page.
  var reviewPaging = { cursor: null, shown: 0, pages: 0, status: 'open', loading: false };

  function staffLabel(subject) {
    var who = me();
    if (who && subject === who.sub) return 'you (' + who.username + ')';
    return 'staff member ' + String(subject).slice(0, 8); // the API records staff by their sub only
  }

  function caseState(item) {
    if (item.awaiting_second_approval) return 'awaiting second approval';
    if (item.status === 'claimed') return 'claimed by ' + staffLabel(item.claimed_by);
    return item.status;
  }

  function reviewRow(item) {
    var row = el('tr');
    row.dataset.reviewId = item.review_id;
    row.appendChild(el('td', item.review_id.slice(0, 8)));
    row.appendChild(el('td', money(item.loan_amount)));
    row.appendChild(el('td', item.model_outcome));
    row.appendChild(el('td', age(item.age_seconds)));
    row.appendChild(el('td', item.seconds_to_sla < 0 ? 'breached ' + age(item.seconds_to_sla) + ' ago' : age(item.seconds_to_sla) + ' left', item.seconds_to_sla < 0 ? 'breached' : ''));
    row.appendChild(el('td', caseState(item), item.awaiting_second_approval ? 'pending-text' : ''));
    var action = el('td');
    var open = item.status === 'open';
    var button = el('button', open ? 'Claim' : 'Open');
    button.type = 'button';
    button.className = open ? 'claim' : 'open-case';
    button.dataset.reviewId = item.review_id;
    button.setAttribute('aria-label', (open ? 'Claim case ' : 'Open case ') + item.review_id.slice(0, 8));
    button.addEventListener('click', function () { if (open) claimReview(item.review_id); else openReview(item.review_id); });
    action.appendChild(button);
    row.appendChild(action);
    return row;
  }

  function showPaging() {
    var more = $('review-more');
    more.hidden = !reviewPaging.cursor;
    more.disabled = reviewPaging.loading;
    var text = reviewPaging.shown + ' ' + reviewPaging.status + ' case' + (reviewPaging.shown === 1 ? '' : 's') + ' shown';
    $('review-paging').textContent = text + (reviewPaging.cursor ? '; more to load.' : (reviewPaging.pages > 1 ? '; that is all.' : '.'));
    $('review-table').dataset.pages = String(reviewPaging.pages);
  }

  // Each new list (another status or page size, a sign-in or sign-out) is a new generation: an
  // answer that arrives for an older one is dropped, never mixed into the table.
  var reviewGeneration = 0;

  function countLoad() {
    var table = $('review-table');
    table.dataset.loads = String(Number(table.dataset.loads || '0') + 1);
  }

  function loadReviews(reset) {
    if (!me()) { renderStaff(); return Promise.resolve(); }
    if (!reset && (reviewPaging.loading || !reviewPaging.cursor)) return Promise.resolve();
    var body = $('review-table').querySelector('tbody');
    if (reset) {
      reviewGeneration += 1;
      reviewPaging = { cursor: null, shown: 0, pages: 0, status: $('review-status').value, loading: false };
      clear(body);
      $('review-caption').textContent = reviewPaging.status.charAt(0).toUpperCase() + reviewPaging.status.slice(1) + ' cases, oldest due first';
    }
    var generation = reviewGeneration;
    var query = '?status=' + encodeURIComponent(reviewPaging.status) + '&limit=' + encodeURIComponent($('review-page-size').value);
    if (!reset) query += '&cursor=' + encodeURIComponent(reviewPaging.cursor);
    reviewPaging.loading = true;
    showPaging();
    setLoading(true);
    return staffApi('GET', '/v1/reviews' + query).then(function (result) {
      setLoading(false);
      if (generation !== reviewGeneration) return;
      reviewPaging.loading = false;
      var none = body.querySelector('tr.none');
      if (none) body.removeChild(none);
      result.body.items.forEach(function (item) { body.appendChild(reviewRow(item)); });
      reviewPaging.shown += result.body.items.length;
      reviewPaging.pages += 1;
      reviewPaging.cursor = result.body.next_cursor || null;
      if (!body.firstChild) {
        var empty = el('tr'); empty.className = 'none';
        var cell = el('td', 'No ' + reviewPaging.status + ' cases.', 'muted'); cell.colSpan = 7;
        empty.appendChild(cell); body.appendChild(empty);
      }
      showPaging();
      countLoad();
    }, function (failure) {
      setLoading(false);
      if (generation !== reviewGeneration) return;
      reviewPaging.loading = false;
      showPaging();
      countLoad();
      if (failure instanceof Failure && failure.kind === 'signed_out') return;
      report(failure, function () { loadReviews(reset); });
    });
  }

  function claimReview(reviewId) {
    hideBanner();
    staffApi('POST', '/v1/reviews/' + encodeURIComponent(reviewId) + '/claim').then(function (result) {
      // The row shows the claim at once (the list itself is reloaded after the decision).
      var row = $('review-table').querySelector('tr[data-review-id="' + reviewId + '"]');
      if (row) row.parentNode.replaceChild(reviewRow({
        review_id: reviewId, loan_amount: result.body.loan_amount, model_outcome: result.body.model.outcome,
        age_seconds: (Date.now() - Date.parse(result.body.opened_at)) / 1000,
        seconds_to_sla: (Date.parse(result.body.due_at) - Date.now()) / 1000,
        status: 'claimed', claimed_by: result.body.claimed_by, awaiting_second_approval: false
      }), row);
      return showReview(reviewId);
    }).catch(function (failure) { reportStaff(failure, function () { claimReview(reviewId); }); });
  }

  function openReview(reviewId) {
    hideBanner();
    showReview(reviewId).catch(function (failure) { reportStaff(failure, function () { openReview(reviewId); }); });
  }

  function reportStaff(failure, retry) {
    if (failure instanceof Failure && failure.kind === 'signed_out') return; // the sign-in form says it
    report(failure, retry);
  }

  function fact(list, term, value) {
    var box = el('div');
    box.appendChild(el('dt', term));
    box.appendChild(el('dd', value));
    list.appendChild(box);
  }

  function showReview(reviewId) {
    return staffApi('GET', '/v1/reviews/' + encodeURIComponent(reviewId)).then(function (result) {
      var detail = result.body;
      var who = me();
      $('review-detail').hidden = false;
      $('review-detail').dataset.reviewId = reviewId;
      $('review-detail').dataset.status = detail.status;
      $('review-id').textContent = reviewId.slice(0, 8) + ' · ' + detail.status;

      var facts = $('review-facts');
      clear(facts);
      fact(facts, 'Amount', money(detail.loan_amount));
      fact(facts, 'Model', detail.model.outcome + ' (' + percent(detail.model.model_probability) + ')');
      if (detail.claimed_by) fact(facts, 'Claimed by', staffLabel(detail.claimed_by));
      if (detail.final_outcome) fact(facts, 'Final outcome', detail.final_outcome);
      if (detail.reviewed_by) fact(facts, 'Decided by', staffLabel(detail.reviewed_by));
      if (detail.checked_by) fact(facts, 'Second approval by', staffLabel(detail.checked_by));

      var reasons = $('review-reasons');
      clear(reasons);
      (detail.reasons || []).forEach(function (reason) { reasons.appendChild(el('li', reason.text + ' (' + reason.code + ')')); });
      showFlags($('review-flags'), detail.risk_flags);

      showSecondApproval(detail, who);
      var mayDecide = detail.status === 'claimed' && !!who && detail.claimed_by === who.sub && !detail.second_approval;
      $('review-decision-form').hidden = !mayDecide;
      $('review-decision-error').textContent = '';

      var verified = $('audit-verified');
      verified.textContent = detail.audit.verified ? '✓ verified' : '✗ broken at entry ' + detail.audit.first_broken_seq;
      verified.className = detail.audit.verified ? 'verified' : 'broken';
      var entries = $('audit-entries');
      clear(entries);
      detail.audit.entries.forEach(function (entry) { entries.appendChild(el('li', entry.at + ' · ' + entry.action.replace(/_/g, ' ') + ' · ' + staffOrActor(entry.actor))); });
      if (mayDecide) $('review-outcome').focus();
      else if (!$('second-approval-form').hidden) $('second-approval-note').focus();
      else $('review-heading').focus();
    });
  }

  function staffOrActor(actor) {
    var who = me();
    return who && actor === who.sub ? 'you (' + who.username + ')' : actor;
  }

  // Maker-checker: the proposal, who made it, and (for a manager) approve or refuse. The API decides
  // who may check; a refusal it gives (the maker themself) is shown here, in its own words.
  function showSecondApproval(detail, who) {
    var pending = detail.second_approval;
    $('second-approval').hidden = !pending;
    $('second-approval-error').textContent = '';
    if (!pending) return;
    var codes = pending.reason_codes && pending.reason_codes.length ? ' Reason codes: ' + pending.reason_codes.join(', ') + '.' : '';
    var note = pending.note ? ' Note: “' + pending.note + '”' : '';
    $('second-approval-proposal').textContent = 'Proposed “' + pending.proposed + '” by ' + staffLabel(pending.maker) +
      ' at ' + pending.proposed_at + '. A second approval is needed: ' + (pending.why || []).join('; ') + '.' + codes + note;
    var manager = isManager();
    $('second-approval-form').hidden = !manager;
    $('second-approval-note').value = '';
    var wait = $('second-approval-wait');
    wait.hidden = manager;
    wait.textContent = 'Waiting for a manager\'s second approval: a different member of staff must give it.';
    if (manager && who && pending.maker === who.sub) {
      $('second-approval-error').textContent = '';
      wait.hidden = false;
      wait.textContent = 'You made this proposal: another manager has to give the second approval.';
    }
  }

  function submitSecondApproval(approve) {
    var reviewId = $('review-detail').dataset.reviewId;
    var body = { approve: approve };
    var note = $('second-approval-note').value.trim();
    if (note) body.note = note;
    $('second-approval-error').textContent = '';
    hideBanner();
    staffApi('POST', '/v1/reviews/' + encodeURIComponent(reviewId) + '/second-approval', { body: body }).then(function () {
      return showReview(reviewId).then(function () { return loadReviews(true); });
    }).catch(function (failure) {
      if (failure instanceof Failure && ['maker_checker', 'staff_forbidden', 'conflict', 'validation'].indexOf(failure.kind) >= 0) {
        $('second-approval-error').textContent = 'Refused: ' + describeFailure(failure);
        return;
      }
      reportStaff(failure, function () { submitSecondApproval(approve); });
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
    $('review-decision-error').textContent = '';
    staffApi('POST', '/v1/reviews/' + encodeURIComponent(reviewId) + '/decision', { body: body }).then(function () {
      $('review-note').value = '';
      return showReview(reviewId).then(function () { return loadReviews(true); });
    }).catch(function (failure) {
      if (failure instanceof Failure && failure.kind === 'validation') {
        $('review-decision-error').textContent = failure.details.map(function (d) { return d.field + ': ' + d.problem; }).join('; ');
      } else if (failure instanceof Failure && (failure.kind === 'conflict' || failure.kind === 'staff_forbidden')) {
        $('review-decision-error').textContent = describeFailure(failure);
      } else reportStaff(failure, function () { decideReview(event); });
    });
  }

  function initStaff() {
    $('sign-in-form').addEventListener('submit', submitSignIn);
    $('new-password-form').addEventListener('submit', submitNewPassword);
    $('new-password-cancel').addEventListener('click', cancelNewPassword);
    $('token-form').addEventListener('submit', useTokenFallback);
    $('sign-out').addEventListener('click', function () {
      endSession('');
      $('staff-username').focus();
    });
    $('review-filter').addEventListener('submit', function (event) { event.preventDefault(); loadReviews(true); });
    $('review-status').addEventListener('change', function () { loadReviews(true); });
    $('review-page-size').addEventListener('change', function () { loadReviews(true); });
    $('review-more').addEventListener('click', function () { loadReviews(false); });
    $('second-approval-form').addEventListener('submit', function (event) { event.preventDefault(); submitSecondApproval(true); });
    $('second-refuse').addEventListener('click', function () { submitSecondApproval(false); });
    renderStaff();
  }

  // ------------------------------------------------------------------ decision versions
  // The registry's staff routes (model risk proposes, a manager other than the maker approves; a
  // manager's rollback applies at once). The API's refusals (400 naming fields, 403 maker-checker,
  // 409 a failed gate or a concurrent change) are shown next to the form that caused them.
  var versionsGeneration = 0;
  var shownVersion = null; // the version whose report is open

  function countVersionsLoad() {
    var table = $('versions-table');
    table.dataset.loads = String(Number(table.dataset.loads || '0') + 1);
  }

  function refusal(failure) {
    if (!(failure instanceof Failure)) return 'The request failed.';
    var details = (failure.details || []).map(function (d) { return d.field + ': ' + d.problem; }).join('; ');
    var prefix = failure.status ? failure.status + ' · ' : '';
    return prefix + (failure.message || describeFailure(failure)) + (details ? ' (' + details + ')' : '');
  }

  function drawRouting(routing) {
    var challenger = routing.challenger;
    var share = challenger ? challenger.share : 0;
    var champion = $('routing-champion');
    var arm = $('routing-challenger');
    champion.textContent = 'champion ' + routing.champion + ' · ' + (100 - share) + '%';
    champion.style.width = (100 - share) + '%';
    champion.dataset.share = String(100 - share);
    arm.hidden = !challenger;
    arm.textContent = challenger ? 'challenger ' + challenger.version_id + ' · ' + share + '%' : '';
    arm.style.width = share + '%';
    arm.dataset.share = String(share);
    $('routing-picture').setAttribute('aria-label', champion.textContent + (challenger ? '; ' + arm.textContent : ''));
    $('routing-picture').dataset.revision = String(routing.revision);
    $('routing-shadows').textContent = routing.shadows.length
      ? 'Shadows (scored beside, never served): ' + routing.shadows.join(', ') + ' on ' + routing.shadow_share + '% of applications'
      : 'No shadows.';
  }

  function versionRow(version) {
    var row = el('tr');
    row.appendChild(el('td', version.version_id));
    row.appendChild(el('td', version.label));
    row.appendChild(el('td', version.policy_id + ' ' + version.policy_version));
    row.appendChild(el('td', version.model_id + ' ' + version.model_version));
    row.appendChild(el('td', version.status, 'role ' + version.status));
    row.appendChild(el('td', version.share === null || version.share === undefined ? '' : version.share + '%'));
    row.appendChild(el('td', version.gates_passed === null ? '–' : version.gates_passed ? 'passed' : 'failed'));
    var cell = el('td');
    var button = el('button', 'Report', 'open-version');
    button.type = 'button';
    button.dataset.versionId = version.version_id;
    button.addEventListener('click', function () { openVersion(version.version_id); });
    cell.appendChild(button);
    row.appendChild(cell);
    row.dataset.versionId = version.version_id;
    return row;
  }

  // The proposals on today's routing; a manager approves one with its button (the API refuses the
  // maker's own: 403, shown beside the approve form).
  function showPending(changes) {
    var list = $('pending-changes');
    clear(list);
    if (!changes.length) { list.appendChild(el('li', 'None.', 'muted')); return; }
    changes.forEach(function (change) {
      var item = el('li', changeText(change) + ' ');
      item.dataset.changeId = change.change_id;
      if (isManager()) {
        var button = el('button', 'Approve', 'approve-pending');
        button.type = 'button';
        button.dataset.changeId = change.change_id;
        button.addEventListener('click', function () { approve(change.change_id); });
        item.appendChild(button);
      }
      list.appendChild(item);
    });
  }

  function loadVersions() {
    if (!me()) { renderStaff(); return Promise.resolve(); }
    versionsGeneration += 1;
    var generation = versionsGeneration;
    setLoading(true);
    return staffApi('GET', '/v1/versions').then(function (result) {
      setLoading(false);
      if (generation !== versionsGeneration) return;
      var body = $('versions-table').querySelector('tbody');
      clear(body);
      result.body.versions.forEach(function (version) { body.appendChild(versionRow(version)); });
      drawRouting(result.body.routing);
      showPending(result.body.pending_changes || []);
      countVersionsLoad();
      return loadVersionAudit(generation);
    }, function (failure) {
      setLoading(false);
      if (generation !== versionsGeneration) return;
      countVersionsLoad();
      if (failure instanceof Failure && failure.kind === 'signed_out') return;
      report(failure, loadVersions);
    });
  }

  // The registry's hash-chained trail: the latest page, and whether every link still holds.
  var AUDIT_ROWS = 20;

  function auditRow(entry) {
    var details = entry.details || {};
    var row = el('tr');
    row.appendChild(el('td', String(entry.seq)));
    row.appendChild(el('td', entry.at));
    row.appendChild(el('td', entry.action + (details.emergency ? ' (emergency)' : '')));
    row.appendChild(el('td', entry.actor));
    row.appendChild(el('td', details.version_id || ''));
    var share = details.share === null || details.share === undefined ? '' : ' ' + details.share + '%';
    row.appendChild(el('td', details.role ? details.role + share : ''));
    row.appendChild(el('td', details.reason || ''));
    row.dataset.seq = String(entry.seq);
    return row;
  }

  function loadVersionAudit(generation) {
    return staffApi('GET', '/v1/versions/audit?limit=' + AUDIT_ROWS).then(function (result) {
      if (generation !== versionsGeneration) return;
      var body = $('versions-audit').querySelector('tbody');
      clear(body);
      result.body.entries.forEach(function (entry) { body.appendChild(auditRow(entry)); });
      var trail = result.body;
      $('versions-audit-state').textContent = !trail.entries.length
        ? 'Nothing registered or changed yet.'
        : trail.verified
          ? 'Verified: every entry still chains to the one before it.'
          : 'BROKEN: entry ' + trail.first_broken_seq + ' no longer matches its hash (edited or removed).';
      $('versions-audit').dataset.verified = String(trail.verified);
    }, function (failure) {
      if (generation !== versionsGeneration) return;
      $('versions-audit-state').textContent = 'The audit trail could not be read: ' + refusal(failure);
    });
  }

  function fixed(value, digits) { return value === null || value === undefined ? '–' : Number(value).toFixed(digits); }

  function outcomeMix(figures) {
    return Object.keys(figures.outcomes).sort().map(function (name) { return name + ' ' + figures.outcomes[name]; }).join(', ');
  }

  function fourFifths(figures, by) {
    return (figures.four_fifths[by] || []).map(function (g) { return g.group + ' ' + fixed(g.ratio, 2) + ' (n ' + g.n + ')'; }).join('; ');
  }

  var REPORT_ROWS = [
    ['AUC', function (f) { return fixed(f.model.auc, 3); }],
    ['KS', function (f) { return fixed(f.model.ks, 3); }],
    ['Brier', function (f) { return fixed(f.model.brier, 4); }],
    ['Outcome mix', outcomeMix],
    ['Approval rate', function (f) { return percent(f.approval_rate); }],
    ['Approvals over the FOIR ceiling', function (f) { return String(f.approvals_over_ceiling); }],
    ['Four-fifths by gender', function (f) { return fourFifths(f, 'gender'); }],
    ['Four-fifths by age band', function (f) { return fourFifths(f, 'age_band'); }]
  ];

  function showVersionDetail(detail) {
    shownVersion = detail.version_id;
    $('version-detail').hidden = false;
    $('version-id').textContent = detail.version_id + ' · ' + detail.label + ' · ' + detail.status;
    $('version-notes').textContent = detail.notes || '';
    var body = $('version-report').querySelector('tbody');
    clear(body);
    var report_ = detail.report;
    var gates = $('version-gates');
    clear(gates);
    $('report-champion-head').textContent = report_ && report_.champion_version ? 'Champion ' + report_.champion_version : 'Champion';
    var holdout = report_ && report_.holdout;
    $('version-report-caption').textContent = 'Report on the ' + (!holdout ? 'holdout'
      : (holdout.source === 'uploaded' ? 'holdout uploaded to backtest ' + holdout.backtest_id : 'packaged holdout') +
        ' (' + holdout.rows + ' rows)') + ', beside the champion\'s';
    if (!report_) {
      var none = el('tr'); var cell = el('td', 'The packaged version has no report of its own: it is the reference.', 'muted');
      cell.colSpan = 3; none.appendChild(cell); body.appendChild(none);
    } else {
      REPORT_ROWS.forEach(function (spec) {
        var row = el('tr');
        row.appendChild(el('th', spec[0]));
        row.appendChild(el('td', spec[1](report_.candidate)));
        row.appendChild(el('td', report_.champion ? spec[1](report_.champion) : '(this is the champion)'));
        body.appendChild(row);
      });
      report_.gates.forEach(function (gate) {
        gates.appendChild(el('li', (gate.passed ? '✓ ' : '✗ ') + gate.gate + ': ' + gate.detail, gate.passed ? 'gate passed' : 'gate failed'));
      });
    }
    $('promote-result').textContent = '';
    $('promote-error').textContent = '';
  }

  function openVersion(versionId) {
    hideBanner();
    setLoading(true);
    return staffApi('GET', '/v1/versions/' + encodeURIComponent(versionId)).then(function (result) {
      setLoading(false);
      showVersionDetail(result.body);
      $('version-heading').focus();
    }, function (failure) {
      setLoading(false);
      if (failure instanceof Failure && failure.kind === 'signed_out') return;
      report(failure, function () { openVersion(versionId); });
    });
  }

  function changeText(change) {
    var what = change.action === 'rollback'
      ? 'roll back to ' + change.version_id
      : change.version_id + ' as ' + change.role + (change.share ? ' (' + change.share + '%)' : '');
    return 'Change ' + change.change_id + ': ' + what + ' · ' + change.state +
      (change.state === 'proposed' ? ', waiting for a manager other than ' + staffLabel(change.proposed_by) : '') +
      (change.emergency ? ' · emergency' : '');
  }

  function proposeVersion(event) {
    event.preventDefault();
    if (!shownVersion) return;
    var role = $('promote-role').value;
    var body = { role: role };
    var share = $('promote-share').value.trim();
    if (role === 'challenger' || (role === 'shadow' && share)) body.share = Number(share);
    var reason = $('promote-reason').value.trim();
    if (reason) body.reason = reason;
    $('promote-result').textContent = '';
    $('promote-error').textContent = '';
    staffApi('POST', '/v1/versions/' + encodeURIComponent(shownVersion) + '/promote', { body: body }).then(function (result) {
      $('promote-result').textContent = changeText(result.body);
      $('promote-result').dataset.changeId = result.body.change_id;
      $('approve-change-id').value = result.body.change_id;
      return loadVersions();
    }).catch(function (failure) {
      if (failure instanceof Failure && failure.kind === 'signed_out') return;
      $('promote-error').textContent = refusal(failure);
    });
  }

  function approveChange(event) {
    event.preventDefault();
    approve($('approve-change-id').value.trim());
  }

  function approve(changeId) {
    $('approve-result').textContent = '';
    $('approve-error').textContent = '';
    if (!changeId) { $('approve-error').textContent = 'Enter the id of the proposed change.'; return; }
    staffApi('POST', '/v1/versions/changes/' + encodeURIComponent(changeId) + '/approve').then(function (result) {
      $('approve-result').textContent = changeText(result.body);
      return loadVersions();
    }).catch(function (failure) {
      if (failure instanceof Failure && failure.kind === 'signed_out') return;
      $('approve-error').textContent = refusal(failure);
    });
  }

  function rollbackVersions(event) {
    event.preventDefault();
    $('rollback-result').textContent = '';
    $('rollback-error').textContent = '';
    var reason = $('rollback-reason').value.trim();
    if (!reason) { $('rollback-error').textContent = 'reason: say why the champion is rolled back.'; return; }
    staffApi('POST', '/v1/versions/rollback', { body: { reason: reason } }).then(function (result) {
      $('rollback-result').textContent = changeText(result.body);
      $('approve-change-id').value = result.body.state === 'proposed' ? result.body.change_id : '';
      return loadVersions();
    }).catch(function (failure) {
      if (failure instanceof Failure && failure.kind === 'signed_out') return;
      $('rollback-error').textContent = refusal(failure);
    });
  }

  function initVersions() {
    $('promote-form').addEventListener('submit', proposeVersion);
    $('approve-form').addEventListener('submit', approveChange);
    $('rollback-form').addEventListener('submit', rollbackVersions);
    $('promote-role').addEventListener('change', function () {
      $('promote-share').disabled = ['challenger', 'shadow'].indexOf($('promote-role').value) < 0;
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
    // /health/detailed (keyed) may fail alone (it is throttled on its own): the metrics still show.
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
    ['new', 'decision', 'reviews', 'versions', 'monitoring', 'batches', 'ops'].forEach(function (view) { $('view-' + view).hidden = view !== name; });
    // The staff sign-in belongs to whichever staff view is shown, under its heading.
    if (name === 'reviews' || name === 'versions' || name === 'monitoring' || name === 'batches') {
      var heading = $(name + '-title');
      heading.parentNode.insertBefore($('staff-box'), heading.nextSibling);
    }
    // The decision view belongs to "New application" in the navigation.
    var current = name === 'decision' ? 'new' : name;
    ['new', 'reviews', 'versions', 'monitoring', 'batches', 'ops'].forEach(function (view) {
      if (view === current) $('nav-' + view).setAttribute('aria-current', 'page');
      else $('nav-' + view).removeAttribute('aria-current');
    });
    if (name !== 'ops') stopOps(); // no scraping while nobody looks (and /metrics is throttled)
    if (name !== 'batches' && pages.batches) pages.batches.hide(); // nor polling a batch
  }

  function route() {
    if (window.location.hash === '#reviews') { showView('reviews'); renderStaff(); loadReviews(true); }
    else if (window.location.hash === '#versions') { showView('versions'); renderStaff(); loadVersions(); }
    else if (window.location.hash === '#monitoring') { showView('monitoring'); renderStaff(); monitoringPage().load(); }
    else if (window.location.hash === '#ops') { showView('ops'); startOps(); }
    else if (window.location.hash === '#batches') { showView('batches'); renderStaff(); pages.batches.show(); }
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
      var body = decide ? decide.post.requestBody.content['application/json'].schema : null;
      // The body may be a reference to a named schema (components.schemas).
      if (body && body.$ref) body = document_.components.schemas[body.$ref.split('/').pop()];
      reasonCodes = body ? body.properties.reason_codes.items.enum : [];
      var select = $('review-reasons-select');
      clear(select);
      reasonCodes.forEach(function (code) { var option = el('option', code); option.value = code; select.appendChild(option); });
      buildForm();
      document.body.dataset.ready = 'true';
    }, function (failure) { setLoading(false); report(failure, loadSchema); });
  }

  // The pages kept in files of their own (console/batches.js, console/monitoring.js) use this file's requests, sign-in and
  // failure sentences through this one global, and register themselves in ``pages``.
  var pages = {};
  window.LoanConsole = {
    pages: pages, api: api, staffApi: staffApi, me: me, report: report, reportStaff: reportStaff,
    hasApiKey: function () { return !!sessionStorage.getItem(KEY_STORAGE); },
    refusal: refusal, describeFailure: describeFailure, Failure: Failure, el: el, clear: clear,
    percent: percent, OUTCOME_COLOURS: OUTCOME_COLOURS
  };

  function monitoringPage() {
    return window.LoanConsoleMonitoring || { load: function () { return Promise.resolve(); }, render: function () {} };
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
    initStaff();
    initVersions();
    $('back-to-form').addEventListener('click', function () { showView('new'); });
    $('decision-title').tabIndex = -1;
    window.addEventListener('hashchange', route);
    loadSchema().then(route);
  });
})();

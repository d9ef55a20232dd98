// Swagger UI for this API's document. A file of its own, not an inline script: the page's
// Content-Security-Policy allows scripts from 'self' only.
(function () {
  'use strict';
  window.addEventListener('DOMContentLoaded', function () {
    window.ui = SwaggerUIBundle({
      url: 'openapi.json', // relative: the stage prefix in AWS is kept
      dom_id: '#swagger-ui',
      deepLinking: true,
      layout: 'BaseLayout',
      presets: [SwaggerUIBundle.presets.apis],
      // Authorize keeps the API key for this tab only; nothing is stored.
      persistAuthorization: false,
      displayRequestDuration: true,
      defaultModelsExpandDepth: 0,
      // No call to validator.swagger.io (it would be a request to another site).
      validatorUrl: null
    });
  });
})();

// Swagger UI over our OpenAPI document. validatorUrl null: no badge fetched from the internet.
window.ui = SwaggerUIBundle({
  url: "/api/openapi.json",
  dom_id: "#swagger-ui",
  // No deep links: Swagger UI puts them inside each operation's button (a link in a button
  // is unreachable by keyboard and confuses screen readers).
  deepLinking: false,
  validatorUrl: null,
  tryItOutEnabled: false,
});

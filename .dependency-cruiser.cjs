/**
 * Architecture rules, checked by `npm test` (test/unit/architecture.test.ts).
 * The core knows nothing of gRPC, HTTP, Redis, logging or the wall clock; nothing
 * imports in a circle; adapters stay out of the service and the stores.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Circular imports make initialisation order fragile.",
      from: {},
      to: { circular: true },
    },
    {
      name: "core-is-pure",
      severity: "error",
      comment: "src/core holds the rules: it may import only itself and node:crypto.",
      from: { path: "(^|/)src/core/" },
      to: {
        pathNot: ["(^|/)src/core/", "^crypto$", "^node:crypto$"],
      },
    },
    {
      name: "inner-layers-know-no-transport",
      severity: "error",
      comment: "The service and the stores are reached by the transports, never the reverse.",
      from: { path: "(^|/)src/(store|service)/" },
      to: { path: ["(^|/)src/transport/", "(^|/)src/app\\.ts$", "(^|/)src/main\\.ts$", "node_modules/express/"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "(^|/)clients/generated/" },
  },
};

/**
 * Kysely, the SQL builder every store uses, imported through this one module. The build
 * (`scripts/bundle-vendor.mjs`) replaces its compiled form with kysely bundled into one file:
 * the package is 262 ES modules, and resolving them took most of a short command's start-up
 * (`ferry models`). Tests and tsx load the package itself through the same module.
 */
export * from 'kysely';

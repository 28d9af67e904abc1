// Types of the worker's bindings and main module as the workers test project sees them.
declare namespace Cloudflare {
  interface Env {
    GENERATOR_BASE_URL: string;
    VERDICT_CONFIG_JSON: string;
    VERDICT_KV: KVNamespace;
  }
  interface GlobalProps {
    mainModule: typeof import("../../src/adapters/worker");
  }
}

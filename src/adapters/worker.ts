// Cloudflare Workers entry point (wrangler.toml `main`). Only `default` may be exported here: workerd reads every
// export of the main module as a handler or entrypoint.
import { createWorker } from "./worker-app";

export default createWorker();

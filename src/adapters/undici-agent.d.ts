// undici's connection pool on its own (src/adapters/node-exchange.ts imports it by path): the package's index also
// loads its fetch, WebSocket, cache and mocks, about 9 MiB of memory verdict never uses. The path works because undici
// (pinned in package.json) has no "exports" map; a version that adds one needs this import changed back to "undici".
declare module "undici/lib/dispatcher/agent.js" {
  import type { Agent } from "undici";
  const AgentClass: typeof Agent;
  export default AgentClass;
}

// Apollo's own gateway over the job gateway and the reviews subgraph, on loopback. It composes
// the supergraph itself from each subgraph's live `_service { sdl }` (IntrospectAndCompose).
// Prints one JSON line with its URL when ready.
//
//   node apollo-gateway.mjs --subgraph jobs=http://127.0.0.1:8000/graphql --subgraph reviews=http://127.0.0.1:4001/ [--port 0]
import { ApolloGateway, IntrospectAndCompose } from "@apollo/gateway";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { subgraph: { type: "string", multiple: true, default: [] }, port: { type: "string", default: "0" } },
});
const subgraphs = values.subgraph.map((pair) => {
  const at = pair.indexOf("=");
  if (at < 1) throw new Error(`--subgraph wants name=url, got ${pair}`);
  return { name: pair.slice(0, at), url: pair.slice(at + 1) };
});
if (subgraphs.length === 0) throw new Error("give at least one --subgraph name=url");

const gateway = new ApolloGateway({ supergraphSdl: new IntrospectAndCompose({ subgraphs }) });
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: Number(values.port) } });
console.log(JSON.stringify({ ready: "gateway", url, subgraphs: subgraphs.map((s) => s.name) }));

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.stop().then(() => process.exit(0)));
}

// A second federation subgraph in Node, on loopback. Prints one JSON line with its URL, then one
// line per operation it served ({"operation": ..., "entities": n}) so a test can count the calls.
//
//   node reviews-subgraph.mjs [--port 0]
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { parseArgs } from "node:util";
import { resolvers, typeDefs } from "./reviews-schema.mjs";

const { values } = parseArgs({ options: { port: { type: "string", default: "0" } } });

const countOperations = {
  async requestDidStart() {
    return {
      async willSendResponse({ request, response }) {
        const entities = request.variables?.representations?.length ?? 0;
        const kind = request.query?.includes("_entities") ? "_entities" : request.query?.includes("_service") ? "_service" : "query";
        const errors = response.body.kind === "single" ? (response.body.singleResult.errors ?? []).length : 0;
        console.log(JSON.stringify({ operation: kind, entities, errors }));
      },
    };
  },
};

const server = new ApolloServer({ schema: buildSubgraphSchema({ typeDefs, resolvers }), plugins: [countOperations, ApolloServerPluginInlineTraceDisabled()] });
const { url } = await startStandaloneServer(server, { listen: { host: "127.0.0.1", port: Number(values.port) } });
console.log(JSON.stringify({ ready: "reviews", url }));

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => server.stop().then(() => process.exit(0)));
}

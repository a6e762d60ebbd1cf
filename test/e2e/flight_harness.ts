/**
 * Runs the Flight server from source the way the CLI wires it: compile the
 * rules, start the server, run the pipeline with the server as source and as
 * a sink. The e2e test uses it when neither dist/sigma nor `bun src/main.ts`
 * serves Flight yet (SIGMA_FLIGHT_CMD=harness), and it documents the wiring.
 *
 * Usage: bun test/e2e/flight_harness.ts --flight-server 127.0.0.1:PORT --rules rules [--flight-token T]
 */

import { parseArgs } from "../../src/cli/args.ts";
import { CORE_FLAGS, ruleSetOptions } from "../../src/cli/options.ts";
import { compileRuleSet } from "../../src/cli/ruleset.ts";
import { flightServerFlags, parseFlightServerConfig } from "../../src/flight/config.ts";
import { FlightServer } from "../../src/flight/server.ts";
import { runPipeline } from "../../src/io/pipeline.ts";

const parsed = parseArgs(process.argv.slice(2), [...CORE_FLAGS, ...flightServerFlags], []);
const options = parsed.options;
let ruleSet = compileRuleSet(ruleSetOptions(options));
const fields = (): string[] => ruleSet.build.plan.fields.map(String);
const server = new FlightServer({
  ...parseFlightServerConfig(options),
  hooks: {
    rules: () => ruleSet.engine.rules,
    stats: () => ruleSet.engine.stats(),
    referencedFields: fields,
    reload: async () => {
      ruleSet = compileRuleSet(ruleSetOptions(options));
      return { rules: ruleSet.loaded };
    },
  },
});
const port = await server.listen();
process.stderr.write(`flight harness listening on ${port} with ${ruleSet.loaded} rules\n`);
const controller = new AbortController();
const shutdown = (): void => {
  controller.abort();
  // Bounded shutdown: a pipeline that cannot drain in 10 s is not allowed to keep the process alive.
  setTimeout(() => process.exit(1), 10_000).unref();
};
process.once("SIGTERM", shutdown);
process.once("SIGINT", shutdown);
// The evaluator is looked up per batch so that a reload takes effect on the next batch.
await runPipeline(server, { evaluate: (batch) => ruleSet.engine.evaluate(batch) }, [server.sink], { maxInFlight: 4, signal: controller.signal });
process.exit(0);

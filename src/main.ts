/**
 * sigma's entry point: argv → a subcommand or the run mode. Every failure
 * becomes a message on stderr and a documented exit code:
 *   0 success · 1 runtime failure · 2 usage error · 3 rules unusable
 *   (path unreadable, no rule loaded, or `rules lint` found rejections)
 *   · 4 events input unreadable.
 */

// First: it may replace the process with one that has mimalloc's purge delay set (see there).
import "./cli/allocator.ts";
import { formatFlags, parseArgs, UsageError } from "./cli/args.ts";
import { explainCommand } from "./cli/explain.ts";
import { CORE_FLAGS, EXIT } from "./cli/options.ts";
import { rulesLint, rulesList } from "./cli/rules-command.ts";
import { runCommand } from "./cli/run.ts";
import { RulesUnusable } from "./cli/ruleset.ts";
import { ioFlags } from "./io/registry.ts";
import { InputUnreadable } from "./io/source.ts";
import { errorMessage, log, routeProcessWarnings } from "./telemetry/log.ts";
import packageJson from "../package.json" with { type: "json" };

const COMMANDS = [["run"], ["explain"], ["rules", "lint"], ["rules", "list"]];

const USAGE = `sigma ${packageJson.version}: Sigma rules over streams of security events

usage:
  sigma [run] --rules <path> [--input json|kafka|flight] [--output json|kafka|flight]
              [--events <file|->] [--out <file|->] [--dead-letter <file>]
              [--flight-server <host:port>] [--mode standalone|coordinator|worker]
  sigma explain --rules <path>       print the compiled rule plan
  sigma rules lint --rules <path>    list rejected rules with their reasons
  sigma rules list --rules <path>    list the rules that load

flags:
${formatFlags([...CORE_FLAGS, ...ioFlags()])}

exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 rules unusable, 4 input unreadable
`;

async function main(argv: string[]): Promise<number> {
  const { command, options } = parseArgs(argv, [...CORE_FLAGS, ...ioFlags()], COMMANDS);
  if (options.flag("help")) {
    console.log(USAGE);
    return EXIT.ok;
  }
  if (options.flag("version")) {
    console.log(packageJson.version);
    return EXIT.ok;
  }
  switch (command.join(" ")) {
    case "explain":
      return explainCommand(options);
    case "rules lint":
      return rulesLint(options);
    case "rules list":
      return rulesList(options);
    default:
      return runCommand(options);
  }
}

routeProcessWarnings();
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    console.error(`sigma: ${error.message}`);
    process.exitCode = EXIT.usage;
  } else if (error instanceof RulesUnusable) {
    console.error(`sigma: ${error.message}`);
    process.exitCode = EXIT.rules;
  } else if (error instanceof InputUnreadable) {
    console.error(`sigma: ${error.message}`);
    process.exitCode = EXIT.input;
  } else {
    console.error(`sigma: ${errorMessage(error)}`);
    log.debug("cli.failed", { stack: error instanceof Error ? error.stack : undefined });
    process.exitCode = EXIT.failure;
  }
}

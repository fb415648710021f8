// The `autok8s` command line: one file per command under commands/.
// Exit codes: 0 ok, 1 the operation failed, 2 bad input (nothing was started).
import { applyCommand } from './commands/apply';
import { Command, CommanderError } from 'commander';
import { PAYLOAD_KEYS_ENV } from '../codec/keyring';
import { EXIT_BAD_INPUT, EXIT_FAILED } from './errors';
import { failoverCommand } from './commands/failover';
import { lbCommand } from './commands/lb';
import { schemaCommand } from './commands/schema';
import { validateCommand } from './commands/validate';
import { workerCommand } from './commands/worker';
import { devCommand } from './commands/dev';
import { sandboxCommand } from './commands/sandbox';
import { demoCommand } from './commands/demo';
import { bootstrapCommand } from './commands/bootstrap';
import { replaceCommand } from './commands/replace';
import { healthCommand } from './commands/health';
import { statusCommand } from './commands/status';
import { planCommand } from './commands/plan';
import { payloadKeysCommand } from './commands/payload-keys';
import { codecServerCommand } from './commands/codec-server';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('autok8s')
    .description('Durable Temporal workflows for a self-managed Kubernetes platform on OVH dedicated servers')
    .version(version, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const command of [validateCommand(), schemaCommand(), applyCommand(), bootstrapCommand(), planCommand(), statusCommand(), failoverCommand(), lbCommand(), replaceCommand(), healthCommand(), workerCommand(), payloadKeysCommand(), codecServerCommand(), devCommand(), sandboxCommand(), demoCommand()]) {
    program.addCommand(command.exitOverride());
  }
  return program;
}

/** The `name`s SpecError, UsageError, KeyringError and TemporalConfigError give their instances. */
const BAD_INPUT_ERRORS = new Set(['SpecError', 'UsageError', 'KeyringError', 'TemporalConfigError']);

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with code 0; usage mistakes (unknown option, missing value) are bad input.
      return err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    }
    // By name: the worker and the dev stack are loaded from source (client/project.ts), so
    // their errors are instances of other copies of these classes than the bundle's.
    if (err instanceof Error && BAD_INPUT_ERRORS.has(err.name)) {
      process.stderr.write(`autok8s: ${err.message}\n`);
      return EXIT_BAD_INPUT;
    }
    const message = err instanceof Error ? err.message : String(err);
    // A run's payloads were encrypted by workers that have the payload keys, and this CLI does not.
    const hint = message.includes('binary/encrypted') && !process.env[PAYLOAD_KEYS_ENV] ? `; the run's payloads are encrypted: set ${PAYLOAD_KEYS_ENV} to the workers' keyring` : '';
    process.stderr.write(`autok8s: ${message}${hint}\n`);
    return EXIT_FAILED;
  }
}

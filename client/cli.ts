// The `autok8s` command line: one file per command under commands/.
// Exit codes: 0 ok, 1 the operation failed, 2 bad input (nothing was started).
import { Command, CommanderError } from 'commander';
import { KeyringError, PAYLOAD_KEYS_ENV } from '../codec/keyring';
import { SpecError } from '../core/spec/load';
import { EXIT_BAD_INPUT, EXIT_FAILED, UsageError } from './errors';
import { TemporalConfigError } from './temporal-connection';
import { failoverCommand } from './commands/failover';
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
  for (const command of [validateCommand(), schemaCommand(), bootstrapCommand(), planCommand(), statusCommand(), failoverCommand(), replaceCommand(), healthCommand(), workerCommand(), payloadKeysCommand(), codecServerCommand(), devCommand(), sandboxCommand(), demoCommand()]) {
    program.addCommand(command.exitOverride());
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with code 0; usage mistakes (unknown option, missing value) are bad input.
      return err.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    }
    if (err instanceof SpecError || err instanceof UsageError || err instanceof KeyringError || err instanceof TemporalConfigError) {
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

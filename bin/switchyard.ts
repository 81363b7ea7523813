#!/usr/bin/env node
// switchyard: the daemon (`start`), the config checker (`check`) and the demo (`demo`).
import { Command } from 'commander';
import { runCheck } from '../lib/cli/check';
import { Switchyard } from '../lib/daemon';
import { runDemo } from '../lib/cli/demo';
import { VERSION } from '../lib/version';

const program = new Command('switchyard')
  .description('L7 load balancer for AI inference: model routing, blue/green splits, GPU-aware scheduling')
  .version(VERSION);

program
  .command('start')
  .description('run the daemon in the foreground (what systemd ExecStart calls)')
  .requiredOption('-c, --config <file>', 'configuration file (YAML)')
  .action(async (opts: { config: string }) => {
    try {
      await Switchyard.start({ configPath: opts.config, handleSignals: true });
    } catch (err) {
      process.stderr.write(`switchyard: ${(err as Error).message}\n`);
      process.exit(1);
    }
  });

program
  .command('check')
  .description('validate configuration files; exit 1 and print FILE:LINE:COL: message per problem')
  .argument('<files...>', 'configuration files')
  .action((files: string[]) => {
    process.exitCode = runCheck(files);
  });

program
  .command('demo')
  .description('the proxy on config.example.yaml in front of a simulated fleet (what `npm start` runs)')
  .option('-c, --config <file>', 'configuration file', 'config.example.yaml')
  .action(async (opts: { config: string }) => {
    try {
      await runDemo(opts.config);
    } catch (err) {
      process.stderr.write(`switchyard demo: ${(err as Error).message}\n`);
      process.exit(1);
    }
  });

void program.parseAsync(process.argv);

import type { CliCommand } from './command.js';

/** `skein --help`: the commands, the global options, and the options of the main command(s). */
export function rootHelp(commands: readonly CliCommand[], version: string): string {
  const width = Math.max(4, ...commands.map((c) => c.name.length)) + 2;
  const sections = [
    `skein ${version}: durable real-time sync server for Yjs documents.`,
    'Usage: skein <command> [options]\n       skein <command> --help',
    [
      'Commands:',
      ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
      `  ${'help'.padEnd(width)}Show the help of a command: skein help <command>.`,
    ].join('\n'),
    ['Global options:', '  -h, --help     Show this help.', '  --version      Print the version.'].join('\n'),
  ];
  for (const command of commands) {
    if (command.inRootHelp === true) {
      sections.push(`skein ${command.name} ${command.usage}\n\n${command.helpBody()}`);
    }
  }
  return `${sections.join('\n\n')}\n`;
}

/** `skein <command> --help`. */
export function commandHelp(command: CliCommand): string {
  return `Usage: skein ${command.name} ${command.usage}\n\n${command.summary}\n\n${command.helpBody()}\n`;
}

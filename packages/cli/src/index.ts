export { main, findCommand } from './main.js';
export { UsageError } from './command.js';
export type { Command } from './command.js';
export { COMMANDS } from './commands/index.js';

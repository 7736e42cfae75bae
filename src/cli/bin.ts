#!/usr/bin/env node
/**
 * The `leasehold` executable (package.json `bin`): runs the CLI and exits with its code.
 * @module
 */
import { main } from './main.js';

const code = await main(process.argv.slice(2));
// Exit at once: an SDK's idle keep-alive sockets must not hold a cron job open.
process.exit(code);

#!/usr/bin/env node
/**
 * The `leasehold` executable (package.json `bin`): runs the CLI and exits with its code.
 * @module
 */
import { main, reportUncaught } from './main.js';

const argv = process.argv.slice(2);
// An SDK may leave behind a rejection that nobody awaits (the Firestore client leaves one per attempt when it finds
// no credentials); the call that failed reports the failure itself. Left to Node, such a rejection would end the
// process with exit 1 (which means "that holder did not hold the lease") and print the error unmasked.
process.on('unhandledRejection', () => {});
process.on('uncaughtException', (error) => process.exit(reportUncaught(error, argv)));
const code = await main(argv);
// Exit at once: an SDK's idle keep-alive sockets must not hold a cron job open.
process.exit(code);

/**
 * The watchdog's executable: the process `leasehold run` starts beside itself to hold its command's deadline (see
 * ./commands/run/watchdog.ts for what it does, ./watchdog-script.ts for how it is found). An entry of its own, next
 * to bin.ts: the build (dist/cli/watchdog.js) and the test bundles keep it there.
 * @module
 */
import { superviseForLeasehold } from './commands/run/watchdog.js';

superviseForLeasehold();

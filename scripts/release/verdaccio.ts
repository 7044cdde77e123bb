// Starts a throw-away private registry for a manual dry run of a release:
//   node --import tsx scripts/release/verdaccio.ts
// prints the environment to export, then serves until Ctrl-C.

import { startVerdaccio } from './lib/verdaccio.js';

const reg = await startVerdaccio();
console.log(`verdaccio on ${reg.url} (storage ${reg.dir})`);
console.log(`export VLREWARD_REGISTRY=${reg.url}`);
console.log(`export VLREWARD_REGISTRY_TOKEN=${reg.token}`);
console.log('then: pnpm release:publish   (Ctrl-C stops the registry)');
const stop = () => void reg.stop().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);

// Post step of the GitHub Action (runs.post in action.yml, `post-if: always()`): when the job
// ends, remove what setup wrote and put back what it replaced, as `anaconda-ci-auth cleanup`
// does (through cleanup.sh). Nothing to do when setup never got as far as installing the binary,
// when the cleanup sub-action already ran, or with `post-cleanup: false`.
'use strict';

const run = require('./run.js');

function main() {
  // main.js refused any other value before it did anything.
  if ((process.env['INPUT_POST-CLEANUP'] || 'true').trim() === 'false') {
    process.stdout.write('anaconda-ci-auth: post-cleanup is false; leaving the job files to the cleanup sub-action\n');
    return;
  }
  const binary = process.env.STATE_binary || '';
  if (!binary) {
    process.stdout.write('anaconda-ci-auth: nothing to clean up (the action did not get as far as installing the binary)\n');
    return;
  }
  const status = run.bash('cleanup.sh', run.inputsEnv([], { ANACONDA_CI_AUTH_INPUT_BINARY_PATH: binary }));
  if (status !== 0) {
    process.exitCode = status;
  }
}

main();

// Post step of the GitHub Action (runs.post in action.yml, `post-if: always()`): when the job
// ends, remove what setup wrote and put back what it replaced, as `anaconda-ci-auth cleanup`
// does (through cleanup.sh). Nothing to do when setup never got as far as installing the binary,
// when the cleanup sub-action already ran, or with `post-cleanup: false`.
'use strict';

const run = require('./run.js');

function main() {
  const wanted = (process.env['INPUT_POST-CLEANUP'] || 'true').trim();
  if (wanted === 'false') {
    process.stdout.write('anaconda-ci-auth: post-cleanup is false; leaving the job files to the cleanup sub-action\n');
    return;
  }
  if (wanted !== 'true') {
    process.stdout.write(`::error title=anaconda-ci-auth::input \`post-cleanup\` must be true or false\n`);
    process.exitCode = 2;
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

// Main step of the GitHub Action (runs.main in action.yml): get the binary, put it on PATH for
// later steps, run setup, and remember what the post step (post.js) needs to clean up.
//
// No dependencies beyond Node's own modules, so nothing is installed or bundled. The work is done
// by the tested step scripts next to this file (install.sh, setup.sh); this file only maps the
// runner's INPUT_* variables to them and keeps the key out of every process but setup's.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const run = require('./run.js');

// The inputs setup.sh reads, as ANACONDA_CI_AUTH_INPUT_<NAME>.
const SETUP_INPUTS = [
  'api-key',
  'domain',
  'mode',
  'validate',
  'api-url',
  'channels',
  'register',
  'min-validity',
  'allow-untrusted-trigger',
  'clients',
  'accept-tos',
  'wheels-index',
  'wheels-index-mode',
  'summary',
];

// install.sh writes `path=` and `native-path=` to a private output file we read back.
function install() {
  const scratch = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'anaconda-ci-auth.install-'));
  const outputFile = path.join(scratch, 'output');
  fs.writeFileSync(outputFile, '', { mode: 0o600 });
  const status = run.bash('install.sh', run.inputsEnv(['install', 'version'], { GITHUB_OUTPUT: outputFile }));
  const values = {};
  for (const line of fs.readFileSync(outputFile, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) {
      values[line.slice(0, eq)] = line.slice(eq + 1);
    }
  }
  fs.rmSync(scratch, { recursive: true, force: true });
  if (status !== 0 || !values.path) {
    process.stdout.write(`anaconda-ci-auth: getting the binary failed (exit status ${status})\n`);
    return null;
  }
  return values;
}

// A directory holding only the binary, appended to $GITHUB_PATH: later steps find
// `anaconda-ci-auth` without also getting whatever else sits next to it (a Python, a conda).
function putOnPath(nativePath) {
  const dir = path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'anaconda-ci-auth.path');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const name = path.basename(nativePath);
  const link = path.join(dir, name);
  fs.rmSync(link, { force: true });
  try {
    fs.symlinkSync(nativePath, link);
  } catch {
    fs.copyFileSync(nativePath, link);
    fs.chmodSync(link, 0o755);
  }
  run.appendFileCommand('GITHUB_PATH', `${dir}\n`);
}

function main() {
  const postCleanup = (process.env['INPUT_POST-CLEANUP'] || 'true').trim();
  if (postCleanup !== 'true' && postCleanup !== 'false') {
    process.stdout.write('::error title=anaconda-ci-auth::input `post-cleanup` must be true or false\n');
    process.exitCode = 2;
    return;
  }
  const installed = install();
  if (!installed) {
    process.exitCode = 1;
    return;
  }
  const nativePath = installed['native-path'] || installed.path;
  run.appendFileCommand('GITHUB_OUTPUT', `binary-path=${nativePath}\n`);
  // The post step cleans up unless post-cleanup is `false`.
  run.appendFileCommand('GITHUB_STATE', `binary=${installed.path}\n`);
  putOnPath(nativePath);
  const status = run.bash('setup.sh', run.inputsEnv(SETUP_INPUTS, { ANACONDA_CI_AUTH_BIN: installed.path }));
  if (status !== 0) {
    // The step fails; the status tells the failure class (README, "Exit codes").
    process.stdout.write(`anaconda-ci-auth: setup exited with status ${status}\n`);
    process.exitCode = status;
  }
}

main();

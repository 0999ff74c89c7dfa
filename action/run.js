// Shared by the action's entry points (main.js, post.js): run one of the step scripts next to this
// file with bash, build its environment from the runner's INPUT_* variables, and append to the
// runner's file commands. No dependencies beyond Node's own modules.
'use strict';

const childProcess = require('child_process');
const fs = require('fs');
const path = require('path');

// Git Bash on Windows runners (`bash` on PATH there may be WSL's), `bash` elsewhere: the same
// shell a `shell: bash` step gets.
function bashPath() {
  if (process.platform === 'win32') {
    for (const root of [process.env.ProgramFiles, 'C:\\Program Files']) {
      const candidate = root && path.join(root, 'Git', 'bin', 'bash.exe');
      if (candidate && fs.existsSync(candidate)) {
        return candidate;
      }
    }
  }
  return 'bash';
}

// The environment for a step script: the job's environment without any INPUT_* variable (the
// runner puts every input there, the key among them), plus ANACONDA_CI_AUTH_INPUT_<NAME> for each
// input the script reads, plus EXTRA. So only the script that needs the key sees it.
function inputsEnv(names, extra) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.toUpperCase().startsWith('INPUT_')) {
      env[name] = value;
    }
  }
  for (const name of names) {
    const value = process.env[`INPUT_${name.toUpperCase()}`] || '';
    env[`ANACONDA_CI_AUTH_INPUT_${name.toUpperCase().replace(/-/g, '_')}`] = value;
  }
  return Object.assign(env, extra);
}

// Runs SCRIPT (a file next to this one) with bash; its exit status (1 when it could not run or
// was killed by a signal).
function bash(script, env) {
  const result = childProcess.spawnSync(bashPath(), [path.join(__dirname, script)], {
    env,
    stdio: 'inherit',
  });
  if (result.error) {
    process.stdout.write(`::error title=anaconda-ci-auth::cannot run bash for ${script}: ${result.error.message}\n`);
    return 1;
  }
  if (result.status === null) {
    process.stdout.write(`::error title=anaconda-ci-auth::${script} was killed by ${result.signal}\n`);
    return 1;
  }
  return result.status;
}

// Appends TEXT to the runner's file command NAME (GITHUB_OUTPUT, GITHUB_PATH, GITHUB_STATE).
function appendFileCommand(name, text) {
  const file = process.env[name];
  if (!file) {
    throw new Error(`${name} is not set; this runs as a step of the GitHub Action`);
  }
  fs.appendFileSync(file, text);
}

module.exports = { appendFileCommand, bash, bashPath, inputsEnv };

// Child processes of a test script, stopped when the script is told to stop (SIGINT/SIGTERM
// from tests/run.sh's cleanup), so nothing outlives the run.
const children = new Set();
let installed = false;

export function track(child) {
  if (!installed) {
    installed = true;
    for (const signal of ['SIGINT', 'SIGTERM']) {
      process.on(signal, () => {
        for (const c of children) c.kill('SIGTERM');
        process.exit(signal === 'SIGINT' ? 130 : 143);
      });
    }
  }
  children.add(child);
  child.on('close', () => children.delete(child));
  return child;
}

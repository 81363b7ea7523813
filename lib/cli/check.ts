// `switchyard check FILE...`: validate configs without starting anything. The output is
// one `FILE:LINE:COL: message` line per problem, the format editors and CI annotate.
import { formatProblem, loadConfigFile } from '../config/load';

/** Returns the process exit code: 0 when every file is valid, else 1. */
export function runCheck(files: string[], out: NodeJS.WritableStream = process.stdout): number {
  let code = 0;
  for (const file of files) {
    const result = loadConfigFile(file);
    if (result.ok) {
      out.write(`${file}: ok (hash ${result.hash})\n`);
      continue;
    }
    code = 1;
    for (const problem of result.problems) out.write(`${formatProblem(problem)}\n`);
  }
  return code;
}

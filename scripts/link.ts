// `npm run link`: prints a fresh sign-in link to the running local stack's dashboard, like the one
// `npm start` prints: by default the demo analyst's (`demo`, org `demo-org`, every permission, 12
// hours). `--sub`, `--org`, `--permissions` and `--ttl` sign in as someone else, e.g. a viewer
// without RUN_BATCH. The stack is found as scripts/local-config.ts says (the only one running, or
// the one PORT / DATA_DIR name); this never creates a secret. The link goes to stdout alone.
import { allPermissions, demoOrg, demoOwner } from "./dev-token.ts";
import { findLocalStack, isPortOpen, LocalStackError, stackSettingsText } from "./local-config.ts";
import { describeToken, mintForStack, parseTokenArgs, type TokenRequest } from "./token.ts";

/** Who the link signs in as when no option says otherwise: the demo analyst `npm start` signs in. */
export const demoIdentity: TokenRequest = {
  sub: demoOwner,
  org: demoOrg,
  permissions: [...allPermissions],
  ttlSeconds: 12 * 3600,
};

const usage = `usage: npm run link [-- --sub SUB] [--org ORG] [--permissions P1,P2] [--ttl SECONDS]
Prints a sign-in link to the running local stack's dashboard. Default: the demo analyst
(${demoOwner}, org ${demoOrg}, every permission, 12 hours). With several stacks running,
PORT=… DATA_DIR=… before the command say which.`;

async function main(args: readonly string[]): Promise<number> {
  const parsed = parseTokenArgs(args, demoIdentity);
  if (parsed.kind === "help") {
    console.log(usage);
    return 0;
  }
  if (parsed.kind === "error") {
    console.error(`error: ${parsed.message}\n\n${usage}`);
    return 2;
  }
  try {
    const stack = findLocalStack();
    // First: a data folder without secrets says which stacks run, the more useful answer.
    const token = await mintForStack(stack, parsed);
    // A link to a stack that is not there would open an error page; say what to start instead.
    if (!stack.running && !(await isPortOpen(stack.port))) {
      console.error(
        `error: no local stack is running (nothing answers on ${stack.baseUrl}); ` +
          `start it with \`${stackSettingsText(stack)} npm start\`, which prints a link too`,
      );
      return 1;
    }
    console.log(`${stack.baseUrl}/#token=${token}`);
    console.error(`signs in as ${describeToken(stack, parsed)}`);
    return 0;
  } catch (error) {
    if (!(error instanceof LocalStackError)) throw error;
    console.error(`error: ${error.message}`);
    return 1;
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2));

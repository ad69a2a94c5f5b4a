import { Copy, DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate, ValidationSeverity } from 'dockerfile-utils';

/**
 * Dockerfile lint without hadolint (not packaged for Debian 12 nor on npm): syntax and
 * instruction checks by `dockerfile-utils` (the validator of the Docker language server), then
 * these hadolint rules, by their hadolint ids:
 *
 * | rule   | check |
 * |--------|-------|
 * | DL3000 | WORKDIR is absolute |
 * | DL3002 | the final stage switches to a non-root USER, and it is the last USER |
 * | DL3004 | no sudo |
 * | DL3006 | every base image has an explicit tag (ARG defaults resolved) |
 * | DL3007 | no `latest` tag |
 * | DL3015 | apt-get install uses --no-install-recommends |
 * | DL3016 | npm install -g pins its packages (name@version) |
 * | DL3020 | COPY, not ADD, for local files |
 * | DL3022 | COPY --from names an earlier stage |
 * | DL3024 | stage names are unique |
 * | DL3025 | CMD and ENTRYPOINT in JSON form |
 * | DL4000 | no MAINTAINER |
 * | DL4003 | at most one CMD per stage |
 * | DL4004 | at most one ENTRYPOINT per stage |
 * | SKEIN1 | no secret-looking ENV or ARG (…SECRET, …TOKEN, …PASSWORD, …KEY) — config comes at run time |
 */

export interface Finding {
  readonly rule: string;
  /** 1-based line. */
  readonly line: number;
  readonly message: string;
}

const ALL_ERRORS = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

const SECRET_NAME = /(SECRET|TOKEN|PASSWORD|PASSWD|_KEY|APIKEY)$/i;

export function lintDockerfile(text: string): Finding[] {
  const findings: Finding[] = validate(text, ALL_ERRORS).map((d) => ({
    rule: `dockerfile-utils:${String(d.code)}`, line: d.range.start.line + 1, message: typeof d.message === 'string' ? d.message : d.message.value,
  }));
  const file = DockerfileParser.parse(text);
  const add = (rule: string, at: Instruction, message: string): void => {
    findings.push({ rule, line: at.getRange().start.line + 1, message });
  };
  const args = new Map<string, string>();
  for (const arg of file.getInitialARGs()) {
    const property = arg.getProperty();
    const name = property?.getName();
    if (name !== undefined && name !== null) args.set(name, property?.getValue() ?? '');
  }
  const expand = (value: string): string => value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => args.get(name) ?? whole);

  const stages: string[] = [];
  let cmds = 0;
  let entrypoints = 0;
  let lastUser: { user: string; at: Instruction } | undefined;
  for (const instruction of file.getInstructions()) {
    const keyword = instruction.getKeyword().toUpperCase();
    const content = (instruction.getArgumentsContent() ?? '').trim();
    switch (keyword) {
      case 'FROM': {
        cmds = 0;
        entrypoints = 0;
        lastUser = undefined;
        const words = content.split(/\s+/).filter((w) => !w.startsWith('--'));
        const image = expand(words[0] ?? '');
        const alias = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
        if (!stages.includes(image) && image !== 'scratch') {
          const tag = /^[^@]+:([^/:@]+)$/.exec(image.split('@')[0] ?? '')?.[1];
          if (tag === undefined && !image.includes('@')) add('DL3006', instruction, `base image ${image} has no explicit tag`);
          if (tag === 'latest') add('DL3007', instruction, `base image ${image} uses latest`);
        }
        if (alias !== undefined) {
          if (stages.includes(alias)) add('DL3024', instruction, `stage name ${alias} is not unique`);
          stages.push(alias);
        }
        break;
      }
      case 'WORKDIR':
        if (!expand(content).startsWith('/')) add('DL3000', instruction, `WORKDIR ${content} is not absolute`);
        break;
      case 'USER':
        lastUser = { user: content, at: instruction };
        break;
      case 'ADD':
        if (!/https?:\/\//.test(content) && !/\.(tar|tgz|tar\.gz|tar\.xz)\b/.test(content)) add('DL3020', instruction, 'use COPY for local files');
        break;
      case 'COPY': {
        const from = instruction instanceof Copy ? instruction.getFromFlag()?.getValue() ?? undefined : undefined;
        if (from !== undefined && !stages.includes(from) && !/^\d+$/.test(from)) add('DL3022', instruction, `COPY --from=${from} is not an earlier stage`);
        break;
      }
      case 'CMD':
      case 'ENTRYPOINT':
        if (!content.startsWith('[')) add('DL3025', instruction, `${keyword} in shell form`);
        if (keyword === 'CMD' && ++cmds > 1) add('DL4003', instruction, 'more than one CMD');
        if (keyword === 'ENTRYPOINT' && ++entrypoints > 1) add('DL4004', instruction, 'more than one ENTRYPOINT');
        break;
      case 'MAINTAINER':
        add('DL4000', instruction, 'MAINTAINER is deprecated');
        break;
      case 'RUN':
        if (/\bsudo\b/.test(content)) add('DL3004', instruction, 'do not use sudo');
        if (/apt-get\s+install/.test(content) && !content.includes('--no-install-recommends')) add('DL3015', instruction, 'apt-get install without --no-install-recommends');
        for (const m of content.matchAll(/npm\s+(?:install|i)\s+(?:-g|--global)\b([^&;|]*)/g)) {
          for (const pkg of (m[1] ?? '').split(/\s+/).filter((w) => w !== '' && !w.startsWith('-'))) {
            const bare = pkg.replace(/^["']|["']$/g, '');
            if (!/^@?[^@]+@[^@]+$/.test(bare)) add('DL3016', instruction, `npm install -g ${bare} without a version`);
          }
        }
        break;
      case 'ENV':
      case 'ARG':
        for (const name of content.split(/\s+/).map((w) => w.split('=')[0] ?? '')) {
          if (SECRET_NAME.test(name)) add('SKEIN1', instruction, `${keyword} ${name} looks like a secret baked into the image`);
        }
        break;
      default:
        break;
    }
  }
  const last = file.getInstructions().at(-1);
  if (lastUser === undefined) {
    if (last !== undefined) add('DL3002', last, 'the final stage runs as root (no USER)');
  } else if (/^(root|0)(:|$)/.test(lastUser.user)) {
    add('DL3002', lastUser.at, 'the last USER is root');
  }
  return findings;
}

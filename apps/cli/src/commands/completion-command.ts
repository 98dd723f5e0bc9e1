import { Argument, type Command } from 'commander';
import { UsageError } from '../exit-codes.js';

/** What completion needs of a verb: its options, sub-verbs and whether it takes a file. */
interface VerbModel {
  readonly name: string;
  readonly description: string;
  readonly options: readonly string[];
  readonly subcommands: readonly VerbModel[];
  /** Candidates for its first positional argument (completion's shells). */
  readonly choices: readonly string[];
}

const optionsOf = (command: Command): string[] => [
  ...command.options.flatMap((option) => (option.long === undefined ? [] : [option.long])),
  '--help',
];

function modelOf(command: Command): VerbModel {
  const [first] = command.registeredArguments;
  return {
    name: command.name(),
    description: command.description(),
    options: optionsOf(command),
    subcommands: command.commands.map(modelOf),
    choices: first?.argChoices ?? [],
  };
}

/** A string as a single-quoted shell word. */
const quote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

function bashScript(program: Command): string {
  const verbs = program.commands.map(modelOf);
  const global = optionsOf(program).join(' ');
  const cases = verbs.map((verb) => {
    const positional = verb.subcommands.length > 0 ? verb.subcommands.map((sub) => sub.name) : verb.choices;
    return `    ${verb.name}) options=${quote(verb.options.join(' '))}; positional=${quote(positional.join(' '))} ;;`;
  });
  return `# bash completion for flux. Load it with:  source <(flux completion bash)
_flux() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" verb="\${COMP_WORDS[1]}" options='' positional=''
  local global=${quote(global)}
  if (( COMP_CWORD == 1 )); then
    COMPREPLY=( $(compgen -W ${quote(verbs.map((verb) => verb.name).join(' '))}" $global" -- "$cur") )
    return
  fi
  case "$verb" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$options $global" -- "$cur") )
  elif (( COMP_CWORD == 2 )) && [[ -n "$positional" ]]; then
    COMPREPLY=( $(compgen -W "$positional" -- "$cur") )
  fi
  # Nothing matched: bash falls back to file names (-o default), which import FILE wants.
}
complete -o default -F _flux flux
`;
}

const describeEntry = (verb: VerbModel): string => quote(`${verb.name}:${verb.description.replaceAll('\n', ' ')}`);

function zshScript(program: Command): string {
  const verbs = program.commands.map(modelOf);
  const global = optionsOf(program);
  const cases = verbs.map((verb) => {
    const lines = [`    ${verb.name})`, `      options=(${verb.options.map(quote).join(' ')})`];
    if (verb.subcommands.length > 0) lines.push(`      positional=(${verb.subcommands.map(describeEntry).join(' ')})`);
    else if (verb.choices.length > 0) lines.push(`      positional=(${verb.choices.map(quote).join(' ')})`);
    lines.push('      ;;');
    return lines.join('\n');
  });
  return `#compdef flux
# zsh completion for flux. Load it with:  source <(flux completion zsh)
# (after compinit), or save it as _flux in a directory of $fpath.
_flux() {
  local -a verbs options positional global
  verbs=(${verbs.map(describeEntry).join(' ')})
  global=(${global.map(quote).join(' ')})
  if (( CURRENT == 2 )); then
    _describe -t commands 'flux verb' verbs
    compadd -- $global
    return
  fi
  case $words[2] in
${cases.join('\n')}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $options $global
  elif (( CURRENT == 3 )) && (( $#positional > 0 )); then
    _describe -t values 'value' positional
  else
    _files
  fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _flux "$@"
else
  compdef _flux flux
fi
`;
}

const SHELLS = ['bash', 'zsh'] as const;

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('Print a shell completion script (bash or zsh)')
    .addArgument(new Argument('<SHELL>', 'bash or zsh').choices(SHELLS))
    .addHelpText(
      'after',
      '\nExamples:\n  source <(flux completion bash)      # in ~/.bashrc\n  source <(flux completion zsh)       # in ~/.zshrc, after compinit',
    )
    .action((shell: string) => {
      if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`no completion for ${shell}`);
      process.stdout.write(shell === 'bash' ? bashScript(program) : zshScript(program));
    });
}

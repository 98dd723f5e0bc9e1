import { Argument, type Command } from 'commander';
import { UsageError } from '../exit-codes.js';

/** What completion needs of a verb: its options, sub-verbs and the choices of its first argument. */
interface VerbModel {
  readonly name: string;
  readonly description: string;
  readonly options: readonly string[];
  readonly subcommands: readonly VerbModel[];
  /** Candidates for its first positional argument (completion's shells). */
  readonly choices: readonly string[];
}

/** Global options followed by a value (`--url URL`): the word after one is not the verb. */
const valueOptionsOf = (command: Command): string[] =>
  command.options.flatMap((option) => (option.long !== undefined && (option.required || option.optional) ? [option.long] : []));

const longOptionsOf = (command: Command): string[] => command.options.flatMap((option) => (option.long === undefined ? [] : [option.long]));

/** Every verb takes --help too; it is offered once, with the global options. */
const globalOptionsOf = (program: Command): string[] => [...longOptionsOf(program), '--help'];

function modelOf(command: Command): VerbModel {
  const [first] = command.registeredArguments;
  return {
    name: command.name(),
    description: command.description(),
    options: longOptionsOf(command),
    subcommands: command.commands.map(modelOf),
    choices: first?.argChoices ?? [],
  };
}

/** A string as a single-quoted shell word. */
const quote = (text: string): string => `'${text.replaceAll("'", `'\\''`)}'`;

function bashScript(program: Command): string {
  const verbs = program.commands.map(modelOf);
  const global = globalOptionsOf(program).join(' ');
  const cases = verbs.map((verb) => {
    const positional = verb.subcommands.length > 0 ? verb.subcommands.map((sub) => sub.name) : verb.choices;
    const values = positional.length === 0 ? '' : `; positional=${quote(positional.join(' '))}`;
    return `    ${verb.name}) options=${quote(verb.options.join(' '))}${values} ;;`;
  });
  return `# bash completion for flux. Load it with:  source <(flux completion bash)
_flux() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" verb='' at=0 i options='' positional=''
  local global=${quote(global)}
  for (( i = 1; i < COMP_CWORD; i++ )); do
    case "\${COMP_WORDS[i]}" in
      ${valueOptionsOf(program).join('|')}) (( i++ )) ;;
      -*) ;;
      *) verb="\${COMP_WORDS[i]}"; at=$i; break ;;
    esac
  done
  if [[ -z "$verb" ]]; then
    COMPREPLY=( $(compgen -W ${quote(verbs.map((verb) => verb.name).join(' '))}" $global" -- "$cur") )
    return
  fi
  case "$verb" in
${cases.join('\n')}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$options $global" -- "$cur") )
  elif (( COMP_CWORD == at + 1 )) && [[ -n "$positional" ]]; then
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
  const global = globalOptionsOf(program);
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
  local verb='' at=0 i
  verbs=(${verbs.map(describeEntry).join(' ')})
  global=(${global.map(quote).join(' ')})
  for (( i = 2; i < CURRENT; i++ )); do
    case $words[i] in
      ${valueOptionsOf(program).join('|')}) (( i++ )) ;;
      -*) ;;
      *) verb=$words[i]; at=$i; break ;;
    esac
  done
  if [[ -z $verb ]]; then
    _describe -t commands 'flux verb' verbs
    compadd -- $global
    return
  fi
  case $verb in
${cases.join('\n')}
  esac
  if [[ $PREFIX == -* ]]; then
    compadd -- $options $global
  elif (( CURRENT == at + 1 )) && (( $#positional > 0 )); then
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

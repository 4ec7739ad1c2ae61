# bash completion for replayctl (installed as
# /usr/share/bash-completion/completions/replayctl).
_replayctl() {
    local cur prev words cword
    _init_completion || return
    local cmds="apply status agents plan routes doctor"
    local globals="-c --controller --key-file --timeout --help --version"
    case $prev in
        -c | --controller | --timeout | --count | --watch) return ;;
        --key-file) _filedir; return ;;
    esac
    # The first word that is a command decides what follows.
    local i cmd=
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
            -c | --controller | --key-file | --timeout) ((i++)) ;;
            -*) ;;
            *) cmd=${words[i]}; break ;;
        esac
    done
    case $cmd in
        "") mapfile -t COMPREPLY < <(compgen -W "$cmds $globals" -- "$cur") ;;
        apply)
            if [[ $cur == -* ]]; then
                mapfile -t COMPREPLY < <(compgen -W "--dry-run --json" -- "$cur")
            else
                _filedir json
            fi ;;
        status) mapfile -t COMPREPLY < <(compgen -W "--watch --count --json -v --summary" -- "$cur") ;;
        doctor) mapfile -t COMPREPLY < <(compgen -W "--timeout --json" -- "$cur") ;;
        routes | agents | plan) mapfile -t COMPREPLY < <(compgen -W "--json" -- "$cur") ;;
    esac
}
complete -F _replayctl replayctl

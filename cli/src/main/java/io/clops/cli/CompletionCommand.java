package io.clops.cli;

import picocli.AutoComplete;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "completion", description = {"Print a bash (or zsh) completion script for clops.",
        "Load it now:   source <(./clops completion)",
        "For good:      ./clops completion > /etc/bash_completion.d/clops"})
public final class CompletionCommand implements Callable<Integer> {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
        spec.commandLine().getOut().print(AutoComplete.bash("clops", spec.root().commandLine()));
        spec.commandLine().getOut().flush();
        return 0;
    }
}

package io.clops.cli;

import io.clops.executor.ExecutorMain;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

@Command(name = "executor", hidden = true, description = "Run the executor sidecar (configured by CLOPS_* environment variables).")
public final class ExecutorCommand implements Callable<Integer> {
    @Override
    public Integer call() throws Exception {
        ExecutorMain.main(new String[0]);
        return 0;
    }
}

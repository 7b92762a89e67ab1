package dev.retort.api.run;

import java.util.Optional;

/**
 * How tensors are named in a run's checkpoint ({@link RunResult#lastCheckpoint()}) and in a run's {@code init} file,
 * so that a client (e.g. a parity check) can find a tensor by the reference's name without knowing the runner.
 *
 * <p>A checkpoint holds the student under {@code student.<reference key>} and each distillation module under
 * {@code modules.<module>.<reference key>} (the reference's names, e.g. TransKD's {@code skfs.0.conv1.0.weight}, inside
 * a namespace per module), and the optimiser's state under {@code optim.*}. An {@code init} file may also hold the
 * teacher under {@code teacher.<reference key>}, the modules under their bare reference keys, and any key behind
 * PyTorch's DataParallel prefix {@code module.}.
 *
 * @since 2.2
 */
public interface CheckpointKeys {
    String STUDENT = "student.";
    String TEACHER = "teacher.";
    String MODULES = "modules.";
    String OPTIMIZER = "optim.";
    /** PyTorch's DataParallel / DistributedDataParallel prefix. */
    String DATA_PARALLEL = "module.";

    /** The checkpoint key of a module's parameter. */
    static String moduleKey(String module, String referenceKey) {
        return MODULES + module + "." + referenceKey;
    }

    /** The module a checkpoint key belongs to and its reference key, or empty for a key outside {@code modules.}. */
    static Optional<String[]> splitModuleKey(String key) {
        if (!key.startsWith(MODULES)) return Optional.empty();
        int dot = key.indexOf('.', MODULES.length());
        if (dot < 0) return Optional.empty();
        return Optional.of(new String[] {key.substring(MODULES.length(), dot), key.substring(dot + 1)});
    }

    /** A key without PyTorch's DataParallel prefix. */
    static String withoutDataParallel(String key) {
        return key.startsWith(DATA_PARALLEL) ? key.substring(DATA_PARALLEL.length()) : key;
    }
}

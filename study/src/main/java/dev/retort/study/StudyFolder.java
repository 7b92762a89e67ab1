package dev.retort.study;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What a study folder keeps about its study besides the cells: the ablation file it was started with
 * ({@code ablation.cfg}: {@code kd:ablate --status DIR} reads it, and a different file given for the same folder is
 * refused), and how to start Retort again for the cells of a cluster job.
 */
final class StudyFolder {
    static final String ABLATION = "ablation.cfg";
    /** The launcher's command line (one word a line): the system property retort.jar's launcher sets. */
    static final String COMMAND_PROPERTY = "retort.command";

    private StudyFolder() {}

    /** Copies the ablation file into the folder, or checks it is the one the folder's study was started with. */
    static void record(Study.Ablation study) throws IOException {
        Path copy = study.output().resolve(ABLATION);
        String text = Files.readString(study.file());
        if (Files.exists(copy)) {
            if (!Files.readString(copy).equals(text) && !Files.isSameFile(copy, study.file())) {
                throw new IllegalStateException(study.output() + " holds a study of another ablation file (its " + ABLATION + " differs from "
                        + study.file() + "): rows of two grids would mix; give this file its own --out, or delete the folder to start again");
            }
            return;
        }
        Files.createDirectories(study.output());
        Path tmp = copy.resolveSibling("." + ABLATION + ".tmp");
        Files.writeString(tmp, text);
        Files.move(tmp, copy, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * How a cluster task starts Retort: the command that started this process (java, its options, {@code -jar
     * retort.jar}), as the launcher records it; {@code java -jar retort.jar} where it did not (a framework without
     * the launcher), which the job script then needs edited.
     */
    static List<String> retortCommand() {
        String recorded = System.getProperty(COMMAND_PROPERTY);
        if (recorded == null || recorded.isBlank()) return List.of("java", "-jar", "retort.jar");
        return Arrays.stream(recorded.split("\n")).filter(w -> !w.isEmpty()).toList();
    }
}

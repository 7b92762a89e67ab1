package dev.retort.distill.support;

import dev.retort.api.distill.DistillContext;
import dev.retort.api.error.RetortConfigException;
import dev.retort.api.tap.TapLayout;
import dev.retort.api.tap.TapNames;
import dev.retort.api.tap.TapSpec;
import java.util.Set;
import java.util.TreeSet;

/**
 * One stage's feature maps on both sides of a distillation, checked to be of the same spatial size: what a method
 * that compares (or attends between) the student's and the teacher's map of a stage needs first (FitNet, CWD, TaT).
 *
 * @param stage   the stage, 1-based
 * @param student the student's {@code features.<stage>} tap
 * @param teacher the teacher's {@code features.<stage>} tap
 */
public record StagePair(int stage, TapSpec student, TapSpec teacher) {
    /**
     * The feature maps of {@code stage} in the context's student and teacher.
     *
     * @param distiller the distiller's name, which starts each error
     * @param why       said after a stride mismatch (e.g. {@code "; TaT attends between positions of the same map size"}), or empty
     * @throws RetortConfigException when either network has no such stage or their maps differ in stride
     */
    public static StagePair features(DistillContext context, String distiller, int stage, String why) {
        TapLayout s = context.student(), t = context.teacher();
        if (stage > s.stages() || stage > t.stages()) {
            throw new RetortConfigException(distiller + ": stage " + stage + " is not a stage of both student " + s.network() + " (" + s.stages()
                    + " stages) and teacher " + t.network() + " (" + t.stages() + ")");
        }
        TapSpec student = s.require(TapNames.features(stage)), teacher = t.require(TapNames.features(stage));
        if (student.stride() != teacher.stride()) {
            throw new RetortConfigException(distiller + ": stage " + stage + ": student " + s.network() + " " + student + " and teacher " + t.network()
                    + " " + teacher + " differ in spatial size" + why);
        }
        return new StagePair(stage, student, teacher);
    }

    /** The teacher taps a module distilling the feature maps of {@code stages} reads. */
    public static Set<String> featureTaps(int... stages) {
        Set<String> taps = new TreeSet<>();
        for (int s : stages) taps.add(TapNames.features(s));
        return taps;
    }
}

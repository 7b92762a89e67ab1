package dev.retort.runner.train;

import ai.djl.pytorch.jni.JniUtils;

/**
 * PyTorch's autograd switch is per thread and on by default; DJL turns it off only on the thread that started the
 * engine and turns it on inside a GradientCollector. Threads of Retort's own (training, commands) switch it off
 * first, so that teacher forwards build no graph and optimizer updates may change parameters in place.
 */
public final class GradMode {
    private GradMode() {}

    public static void offForThisThread() {
        JniUtils.setGradMode(false);
    }
}

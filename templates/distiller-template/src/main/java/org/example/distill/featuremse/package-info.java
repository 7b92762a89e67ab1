/**
 * A template distiller: the student's last-stage features, projected by a trainable 1×1 convolution to the
 * teacher's width, against the teacher's features (mean squared error). Private to its bundle: it only
 * registers a {@code dev.retort.api.distill.Distiller} service.
 */
package org.example.distill.featuremse;

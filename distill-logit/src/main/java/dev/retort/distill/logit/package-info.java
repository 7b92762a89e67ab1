/** Pixel-wise logit distillation (Hinton KD): an embedded baseline, and the smallest complete distiller bundle. */
package dev.retort.distill.logit;

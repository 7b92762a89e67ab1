/** Pixel-wise logit distillation: the smallest complete distiller bundle, and the example a third party starts from. */
package dev.retort.distill.logit;

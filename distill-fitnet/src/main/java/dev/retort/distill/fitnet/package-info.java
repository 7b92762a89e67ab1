/** FitNets: hint-based distillation of stage maps through a 1×1 convolutional regressor. */
package dev.retort.distill.fitnet;

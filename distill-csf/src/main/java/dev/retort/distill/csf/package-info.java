/** TransKD's CSF distiller (Cross Selective Fusion with the HCL pyramid loss) and its parity case. */
package dev.retort.distill.csf;

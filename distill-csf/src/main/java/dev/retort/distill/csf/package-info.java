/** TransKD's CSF distiller (Cross Selective Fusion with the HCL pyramid loss). */
package dev.retort.distill.csf;

/** Knowledge Review (ReviewKD): attention-based fusion across stages with the HCL pyramid loss. */
package dev.retort.distill.reviewkd;

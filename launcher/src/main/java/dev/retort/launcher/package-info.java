/**
 * {@code retort.jar}: starts DJL's engine on the class path, then Felix with SCR, ConfigAdmin, MetaType, Gogo and
 * FileInstall ({@code bundles/}, {@code conf/}) and Retort's embedded bundles; runs one command (exit status = its
 * outcome) or the interactive shell; turns signals into an orderly stop; reports unknown configuration PIDs. A command line is checked against
 * the commands' signatures before it runs ({@code CommandArguments}: a misfit prints the command's usage); failures
 * print as the API's {@code Failures.describe} renders them ({@code FailureText}).
 */
package dev.retort.launcher;

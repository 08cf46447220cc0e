/*
 * Training progress: on a terminal, one bar per epoch redrawn in place with
 * the running loss, accuracy, samples per second and time left; elsewhere
 * (a pipe, a log file), one plain line per epoch; nothing when quiet.
 */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define BAR_WIDTH 24

void cli_progress_init(struct cli_progress *p, FILE *out, bool quiet, bool classify, int epochs)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->quiet = quiet;
    p->tty = isatty(fileno(out)) != 0;
    p->classify = classify;
    p->epochs = epochs;
}

static void format_time(char *buf, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(buf, n, "?");
    else if (s < 60)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
    else
        snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
}

void cli_progress_step(struct cli_progress *p, const struct cg_fit_step *s)
{
    p->done = s->done;
    if (p->quiet || !p->tty)
        return;
    double now = cli_now();
    if (s->done < s->total && now - p->t_last_draw < 0.1)
        return;
    p->t_last_draw = now;
    double rate = s->seconds > 0 ? (double)s->done / s->seconds : 0;
    double frac = s->total ? (double)s->done / (double)s->total : 1;
    int fill = (int)(frac * BAR_WIDTH);
    char bar[BAR_WIDTH + 1], left[16];
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    format_time(left, sizeof left, rate > 0 ? (double)(s->total - s->done) / rate : (double)NAN);
    fprintf(p->out, "\repoch %d/%d [%s] %3.0f%% loss %.4f", s->epoch, s->epochs, bar,
            100 * frac, s->loss);
    if (p->classify)
        fprintf(p->out, " acc %.4f", s->accuracy);
    fprintf(p->out, " %.0f samples/s %s left\033[K", rate, left);
    fflush(p->out);
}

void cli_progress_epoch(struct cli_progress *p, const struct cg_fit_epoch *r)
{
    if (p->quiet)
        return;
    if (p->tty)
        fputs("\r\033[K", p->out);
    fprintf(p->out, "epoch %d/%d  step %ld  lr %.3g  loss %.4f", r->epoch, p->epochs, r->step,
            r->lr, r->train_loss);
    if (!isnan(r->train_acc))
        fprintf(p->out, "  acc %.4f", r->train_acc);
    if (!isnan(r->val_loss))
        fprintf(p->out, "  val_loss %.4f", r->val_loss);
    if (!isnan(r->val_acc))
        fprintf(p->out, "  val_acc %.4f", r->val_acc);
    if (r->skipped)
        fprintf(p->out, "  skipped %ld", r->skipped);
    double rate = r->seconds > 0 ? (double)p->done / r->seconds : 0;
    fprintf(p->out, "  %.0f samples/s  %.1fs\n", rate, r->seconds);
    fflush(p->out);
}

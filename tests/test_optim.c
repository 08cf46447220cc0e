/*
 * Tests of the optimizers (optim/): the first three steps of every algorithm
 * and every option that changes its rule, state for checkpoints, settings,
 * bad hyper-parameters.
 *
 * The fixed problem: one parameter p: [3] starting at P0 = (1, -2, 0.5), the
 * gradient of sum((p - T)^2), g = 2 (p - T) with T = (0.25, 1, -1.5),
 * computed by the test before each step. The expected values come from the
 * update rules of the PyTorch docs pages (named above each update function in optim/), evaluated in
 * plain double arithmetic (a throwaway Python script, not this code); the
 * first step of element 0 is worked by hand above each table (g1 = 1.5).
 * Each option's table was checked to differ from the table without it by far
 * more than the tolerance, so a test fails if an option is ignored.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cg_test.h"
#include "optim/internal.h"

/* Relative tolerance, on values of order 1: the float build rounds each
 * operation to 24 bits. */
#ifdef CG_DOUBLE
#define REL 1e-12
#else
#define REL 2e-6
#endif

static const double P0[3] = {1.0, -2.0, 0.5};
static const double TARGET[3] = {0.25, 1.0, -1.5};

struct expected {
    double steps[3][3];           /* p after steps 1, 2, 3 */
    struct {
        const char *name;         /* state buffer of p0 after step 3, NULL ends */
        double v[3];
    } state[4];
};

/* ---- expected values -------------------------------------------------------
 * SGD   p = 1: defaults (lr 0.01): p = 1 - 0.01 * 1.5 = 0.985.
 *       lr 0.1: 0.85; g2 = 2 (0.85 - 0.25) = 1.2, p = 0.73; g3 = 0.96, p = 0.634.
 *       momentum 0.9: b1 = g1 = 1.5, p = 0.85; b2 = 0.9 * 1.5 + 1.2 = 2.55,
 *         p = 0.595; b3 = 0.9 * 2.55 + 0.69 = 2.985, p = 0.2965.
 *       dampening 0.5: b1 = 1.5 (no dampening at step 1); b2 = 1.35 + 0.5 * 1.2
 *         = 1.95, p = 0.655.
 *       nesterov: b1 = 1.5, g = 1.5 + 0.9 * 1.5 = 2.85, p = 0.715.
 *       weight_decay 0.1: g = 1.5 + 0.1 * 1 = 1.6, p = 0.84.
 * RMSprop defaults: v = 0.01 * 2.25 = 0.0225, p = 1 - 0.01 * 1.5 / (0.15 + 1e-8)
 *         = 0.9000000067.
 *       centered: ga = 0.015, v~ = 0.0225 - 0.015^2 = 0.022275,
 *         p = 1 - 0.015 / 0.1492481 = 0.8994962.
 *       momentum 0.9: b = 1.5 / 0.15 = 10 (b starts at 0), p = 1 - 0.01 * 10.
 *       weight_decay 0.1: g = 1.6, v = 0.0256, p = 1 - 0.016 / 0.16 = 0.9.
 * Adagrad defaults: sum = 2.25, p = 1 - 0.01 * 1.5 / (1.5 + 1e-10) = 0.99.
 *       lr 0.1, lr_decay 0.5, wd 0.1, initial 0.1, eps 1e-3: g = 1.6,
 *         sum = 0.1 + 2.56, p = 1 - 0.1 * 1.6 / (1.6309506 + 1e-3) = 0.9019578;
 *         step 2 uses clr = 0.1 / (1 + 0.5).
 * Adam  defaults: m = 0.15, v = 0.00225, m^ = 1.5, v^ = 2.25,
 *         p = 1 - 0.001 * 1.5 / (1.5 + 1e-8) = 0.999.
 *       lr 0.1, wd 0.1: g = 1.6, p = 1 - 0.1 * 1.6 / (1.6 + 1e-8).
 *       amsgrad, lr 0.5, betas (0.9, 0.5): p1 = 0.5; g2 = 0.5, m = 0.185,
 *         v = 0.5 * 1.125 + 0.5 * 0.25 = 0.6875 < vmax = 1.125, so
 *         p2 = 0.5 - 0.5 (0.185 / 0.19) / sqrt(1.125 / 0.75) = 0.1024951.
 * AdamW defaults (wd 0.01): p = 1 * (1 - 0.001 * 0.01) - 0.001 = 0.99899.
 */
static const struct expected SGD_DEFAULTS = {
    .steps = {{0.98499999999999999, -1.9399999999999999, 0.46000000000000002},
              {0.97029999999999994, -1.8812, 0.42080000000000001},
              {0.95589399999999991, -1.8235760000000001, 0.382384}},
};
static const struct expected SGD_PLAIN = {
    .steps = {{0.84999999999999998, -1.3999999999999999, 0.099999999999999978},
              {0.72999999999999998, -0.91999999999999993, -0.22000000000000008},
              {0.63400000000000001, -0.53599999999999992, -0.47600000000000003}},
};
static const struct expected SGD_MOMENTUM = {
    .steps = {{0.84999999999999998, -1.3999999999999999, 0.099999999999999978},
              {0.59499999999999997, -0.37999999999999989, -0.58000000000000018},
              {0.29649999999999999, 0.81400000000000006, -1.3760000000000003}},
    .state = {{"momentum_buffer",
                 {2.9849999999999999, -11.94, 7.9600000000000009}}},
};
static const struct expected SGD_DAMPENING = {
    .steps = {{0.84999999999999998, -1.3999999999999999, 0.099999999999999978},
              {0.65499999999999992, -0.61999999999999977, -0.42000000000000004},
              {0.43899999999999989, 0.24400000000000033, -0.99600000000000011}},
    .state = {{"momentum_buffer",
                 {2.1600000000000001, -8.6400000000000006, 5.7600000000000007}}},
};
static const struct expected SGD_NESTEROV = {
    .steps = {{0.71499999999999997, -0.85999999999999988, -0.26000000000000001},
              {0.41679999999999995, 0.33280000000000021, -1.0552000000000001},
              {0.16873599999999991, 1.3250560000000005, -1.716704}},
    .state = {{"momentum_buffer",
                 {2.3856000000000002, -9.5424000000000007, 6.3616000000000001}}},
};
static const struct expected SGD_WEIGHT_DECAY = {
    .steps = {{0.83999999999999997, -1.3799999999999999, 0.094999999999999973},
              {0.71360000000000001, -0.89019999999999988, -0.22495000000000004},
              {0.61374400000000007, -0.50325799999999987, -0.47771050000000004}},
};
static const struct expected SGD_NESTEROV_WEIGHT_DECAY = {
    .steps = {{0.69599999999999995, -0.82199999999999984, -0.26950000000000007},
              {0.38369599999999993, 0.38817800000000036, -1.0600195000000001},
              {0.1310716959999999, 1.3670971780000005, -1.6994747695000001}},
    .state = {{"momentum_buffer",
                 {2.4672016000000001, -9.560406200000001, 6.2451040500000001}}},
};
static const struct expected RMSPROP_DEFAULTS = {
    .steps = {{0.90000000666666624, -1.9000000016666667, 0.40000000250000001},
              {0.83431914671309415, -1.8303174494400767, 0.3309433291098639},
              {0.78328661952004386, -1.7738885693916691, 0.27534944560146024}},
    .state = {{"square_avg",
                 {0.052440404951820764, 1.006299874967, 0.43386613935267693}}},
};
static const struct expected RMSPROP_CENTERED = {
    .steps = {{0.89949622520808514, -1.8994962201575805, 0.3994962209993313},
              {0.83318463085050842, -1.8291163020842875, 0.32975215259845669},
              {0.78144701542617223, -1.7718440720755959, 0.27333541443108134}},
    .state = {{"square_avg",
                 {0.05236149827016804, 1.0059122639248044, 0.43361591898374119}},
              {"grad_avg",
                 {0.039225217876130286, -0.172798351200806, 0.11340906822775598}}},
};
static const struct expected RMSPROP_MOMENTUM = {
    .steps = {{0.90000000666666624, -1.9000000016666667, 0.40000000250000001},
              {0.74431915271309368, -1.7403174509400765, 0.24094333135986387},
              {0.55934113169038091, -1.5414159590292238, 0.044129965159468515}},
    .state = {{"square_avg",
                 {0.048557307332759654, 0.98624558965986964, 0.4210073476964557}},
              {"momentum_buffer",
                 {18.497802102271276, -19.890149191085278, 19.681336620039534}}},
};
static const struct expected RMSPROP_WEIGHT_DECAY = {
    .steps = {{0.90000000624999965, -1.9000000016129033, 0.40000000246913581},
              {0.83422951088306085, -1.8303373946388888, 0.33101384597673017},
              {0.78307491786967431, -1.7739350600243275, 0.27551429184002402}},
    .state = {{"square_avg",
                 {0.059890435100805231, 1.0734527240905982, 0.44328213181797671}}},
};
static const struct expected RMSPROP_ALL = {
    .steps = {{0.83367983367983367, -1.8334228909188608, 0.33347039473684204},
              {0.63919398089029511, -1.6263085779111288, 0.12844721308732587},
              {0.46675482135364821, -1.4178792317126425, -0.07436066628657495}},
    .state = {{"square_avg",
                 {0.41909693791557656, 9.126354146766591, 3.6300136107935792}},
              {"momentum_buffer",
                 {3.4487831907329385, -4.1685869239697233, 4.0561575874780162}},
              {"grad_avg",
                 {0.32639622455245043, -1.5702417277450014, 0.98804981935360137}}},
};
static const struct expected ADAGRAD_DEFAULTS = {
    .steps = {{0.99000000000066668, -1.9900000000001667, 0.49000000000025001},
              {0.98297654719705108, -1.9829407468133253, 0.4829466763151995},
              {0.97726575273193372, -1.9771827785725751, 0.47719651082473974}},
    .state = {{"sum",
                 {6.5894184749675908, 107.35214199600094, 47.568710084441967}}},
};
static const struct expected ADAGRAD_ALL = {
    .steps = {{0.90195781920038254, -1.9001459041967839, 0.40032798048629376},
              {0.85866084111310836, -1.8538596960808924, 0.35453576974357498},
              {0.8327148555159275, -1.8256592566145593, 0.32671471041868522}},
    .state = {{"sum",
                 {6.3018450066006828, 109.15246155658375, 45.274858491483002}}},
};
static const struct expected ADAM_DEFAULTS = {
    .steps = {{0.99900000000666667, -1.9990000000016668, 0.4990000000025},
              {0.99800003501326418, -1.9980000087072309, 0.49800001307235864},
              {0.99700012832769036, -1.99700003190148, 0.49700004789727309}},
    .state = {{"exp_avg",
                 {0.40592000700385278, -1.6254200017417459, 1.0834200026149214}},
              {"exp_avg_sq",
                 {0.0067252784555592894, 0.10782008020487427, 0.047904052204988556}}},
};
static const struct expected ADAM_WEIGHT_DECAY = {
    .steps = {{0.90000000062499996, -1.9000000001612902, 0.40000000024691357},
              {0.80061100402896124, -1.800104631474523, 0.30017410842748316},
              {0.70239627209576738, -1.7003887666198765, 0.20065253700944913}},
    .state = {{"exp_avg",
                 {0.37282831096420677, -1.6193219726401336, 1.0366865628164379}},
              {"exp_avg_sq",
                 {0.0058804802459799625, 0.10761831842600884, 0.044280120397247297}}},
};
static const struct expected ADAM_AMSGRAD = {
    .steps = {{0.50000000333333328, -1.5000000008333334, 1.2499999924031613e-09},
              {0.10249509074747259, -0.9888349607899718, -0.51591898010472992},
              {-0.1204233165553526, -0.49239643820542056, -0.98405368141613081}},
    .state = {{"exp_avg",
                 {0.13699901874949447, -1.3337669923079942, 0.79081620420405396}},
              {"exp_avg_sq",
                 {0.3872653981738593, 18.660929006687564, 6.1868309111862301}},
              {"max_exp_avg_sq",
                 {1.125, 21.500000008333334, 8.5000000075000006}}},
};
static const struct expected ADAMW_DEFAULTS = {
    .steps = {{0.99899000000666671, -1.9989800000016669, 0.49899500000250002},
              {0.99798004546574826, -1.9979600190816222, 0.49799002318786906},
              {0.99697015991958138, -1.9969400631403258, 0.49698507828699212}},
    .state = {{"exp_avg",
                 {0.40591420909434955, -1.6254084038166243, 1.0834171046380237}},
              {"exp_avg_sq",
                 {0.0067250989800192833, 0.10781864174152597, 0.047903812647132935}}},
};
static const struct expected ADAMW_AMSGRAD = {
    .steps = {{0.45000000333333323, -1.4000000008333333, -0.02499999875000003},
              {0.051481842535044231, -0.8168332286573996, -0.54030026700026035},
              {-0.14276500190101626, -0.28780089649535889, -0.97997107267376737}},
    .state = {{"exp_avg",
                 {0.11779636910700883, -1.2813666458814796, 0.78143994682494777}},
              {"exp_avg_sq",
                 {0.40006891901989527, 16.861765965507342, 6.0176721587270432}},
              {"max_exp_avg_sq",
                 {1.125, 20.520000008, 8.3512500073750005}}},
};

/* ---- the harness ------------------------------------------------------------ */

/* A parameter p: [n] over caller-owned data and grad arrays (no autograd). */
static cg_tensor *param_over(cg_float *data, cg_float *grad, int n)
{
    cg_tensor *t = cg_tensor_new(1, (int[]){n});
    assert_non_null(t);
    memcpy(t->data, data, (size_t)n * sizeof *data);
    t->grad = grad;
    return t;
}

/* grad = 2 (p - TARGET), element by element, for p split over tensors. */
static void set_grads(cg_tensor *const *ps, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        for (size_t j = 0; j < ps[i]->size; j++, k++)
            ps[i]->grad[j] = 2 * (ps[i]->data[j] - (cg_float)TARGET[k]);
}

static void assert_close(const cg_float *got, const double *want, int n, const char *what,
                         int step)
{
    for (int j = 0; j < n; j++) {
        double tol = REL * (1 + fabs(want[j]));
        if (fabs((double)got[j] - want[j]) > tol)
            fail_msg("%s, step %d, element %d: %.17g != %.17g (tolerance %g)", what, step,
                     j, (double)got[j], want[j], tol);
    }
}

/* Three steps of o on the fixed problem, checked against e; frees o. */
static void check_three_steps(cg_optim *o, cg_tensor *p, const struct expected *e)
{
    assert_non_null(o);
    for (int s = 0; s < 3; s++) {
        set_grads(&p, 1);
        assert_int_equal(cg_optim_step(o), CG_OK);
        assert_close(p->data, e->steps[s], 3, "p", s + 1);
    }
    assert_int_equal(cg_optim_steps(o), 3);
    int n_state = 0;
    for (; n_state < 4 && e->state[n_state].name; n_state++) {
        const char *name = NULL;
        cg_tensor *t = cg_optim_state_tensor(o, n_state, &name);
        assert_non_null(t);
        char want[64];
        snprintf(want, sizeof want, "p0.%s", e->state[n_state].name);
        assert_string_equal(name, want);
        assert_close(t->data, e->state[n_state].v, 3, name, 3);
    }
    assert_int_equal(cg_optim_state_count(o), n_state);
    cg_optim_free(o);
}

/* A fresh fixed problem: p at P0 with its grad array. */
struct problem {
    cg_float grad[3];
    cg_tensor *p;
};

static void problem_init(struct problem *pb)
{
    cg_float data[3] = {(cg_float)P0[0], (cg_float)P0[1], (cg_float)P0[2]};
    pb->p = param_over(data, pb->grad, 3);
}

#define RUN(ctor, hp, e)                                   \
    do {                                                   \
        struct problem pb;                                 \
        problem_init(&pb);                                 \
        check_three_steps(ctor(&pb.p, 1, hp), pb.p, &(e)); \
        cg_tensor_free(pb.p);                              \
    } while (0)

/* ---- SGD -------------------------------------------------------------------- */

static void test_sgd_defaults(void **state)
{
    (void)state;
    RUN(cg_sgd_new, NULL, SGD_DEFAULTS);
}

static void test_sgd_plain(void **state)
{
    (void)state;
    RUN(cg_sgd_new, (&(struct cg_sgd_params){.lr = 0.1}), SGD_PLAIN);
}

static void test_sgd_momentum(void **state)
{
    (void)state;
    RUN(cg_sgd_new, (&(struct cg_sgd_params){.lr = 0.1, .momentum = 0.9}), SGD_MOMENTUM);
}

static void test_sgd_dampening(void **state)
{
    (void)state;
    RUN(cg_sgd_new, (&(struct cg_sgd_params){.lr = 0.1, .momentum = 0.9, .dampening = 0.5}),
        SGD_DAMPENING);
}

static void test_sgd_nesterov(void **state)
{
    (void)state;
    RUN(cg_sgd_new, (&(struct cg_sgd_params){.lr = 0.1, .momentum = 0.9, .nesterov = true}),
        SGD_NESTEROV);
}

static void test_sgd_weight_decay(void **state)
{
    (void)state;
    RUN(cg_sgd_new, (&(struct cg_sgd_params){.lr = 0.1, .weight_decay = 0.1}),
        SGD_WEIGHT_DECAY);
    RUN(cg_sgd_new,
        (&(struct cg_sgd_params){
            .lr = 0.1, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true}),
        SGD_NESTEROV_WEIGHT_DECAY);
}

/* ---- RMSprop ---------------------------------------------------------------- */

static void test_rmsprop_defaults(void **state)
{
    (void)state;
    RUN(cg_rmsprop_new, NULL, RMSPROP_DEFAULTS);
}

static void test_rmsprop_centered(void **state)
{
    (void)state;
    struct cg_rmsprop_params hp = cg_rmsprop_defaults();
    hp.centered = true;
    RUN(cg_rmsprop_new, &hp, RMSPROP_CENTERED);
}

static void test_rmsprop_momentum(void **state)
{
    (void)state;
    struct cg_rmsprop_params hp = cg_rmsprop_defaults();
    hp.momentum = 0.9;
    RUN(cg_rmsprop_new, &hp, RMSPROP_MOMENTUM);
}

static void test_rmsprop_weight_decay(void **state)
{
    (void)state;
    struct cg_rmsprop_params hp = cg_rmsprop_defaults();
    hp.weight_decay = 0.1;
    RUN(cg_rmsprop_new, &hp, RMSPROP_WEIGHT_DECAY);
}

static void test_rmsprop_all_options(void **state)
{
    (void)state;
    struct cg_rmsprop_params hp = {.lr = 0.05, .alpha = 0.9, .eps = 1e-3,
                                   .weight_decay = 0.1, .momentum = 0.5, .centered = true};
    RUN(cg_rmsprop_new, &hp, RMSPROP_ALL);
}

/* ---- Adagrad ---------------------------------------------------------------- */

static void test_adagrad_defaults(void **state)
{
    (void)state;
    RUN(cg_adagrad_new, NULL, ADAGRAD_DEFAULTS);
}

static void test_adagrad_all_options(void **state)
{
    (void)state;
    struct cg_adagrad_params hp = {.lr = 0.1, .lr_decay = 0.5, .weight_decay = 0.1,
                                   .initial_accumulator_value = 0.1, .eps = 1e-3};
    RUN(cg_adagrad_new, &hp, ADAGRAD_ALL);
}

/* ---- Adam and AdamW --------------------------------------------------------- */

static void test_adam_defaults(void **state)
{
    (void)state;
    RUN(cg_adam_new, NULL, ADAM_DEFAULTS);
}

static void test_adam_weight_decay(void **state)
{
    (void)state;
    struct cg_adam_params hp = cg_adam_defaults();
    hp.lr = 0.1;
    hp.weight_decay = 0.1;
    RUN(cg_adam_new, &hp, ADAM_WEIGHT_DECAY);
}

static void test_adam_amsgrad(void **state)
{
    (void)state;
    struct cg_adam_params hp = {.lr = 0.5, .betas = {0.9, 0.5}, .eps = 1e-8, .amsgrad = true};
    RUN(cg_adam_new, &hp, ADAM_AMSGRAD);
}

static void test_adamw_defaults(void **state)
{
    (void)state;
    assert_near(cg_adamw_defaults().weight_decay, 0.01, 0);
    assert_near(cg_adam_defaults().weight_decay, 0, 0);
    RUN(cg_adamw_new, NULL, ADAMW_DEFAULTS);
}

static void test_adamw_amsgrad(void **state)
{
    (void)state;
    struct cg_adam_params hp = {.lr = 0.5, .betas = {0.9, 0.5}, .eps = 1e-8,
                                .weight_decay = 0.1, .amsgrad = true};
    RUN(cg_adamw_new, &hp, ADAMW_AMSGRAD);
}

/* ---- every algorithm: many tensors, split ranges, state round trip --------- */

/* Each algorithm with every state buffer it can have. */
static cg_optim *make_optim(int which, cg_tensor *const *ps, int n)
{
    switch (which) {
    case 0:
        return cg_sgd_new(ps, n, &(struct cg_sgd_params){.lr = 0.1, .momentum = 0.9,
                                                         .weight_decay = 0.1,
                                                         .nesterov = true});
    case 1:
        return cg_rmsprop_new(ps, n, &(struct cg_rmsprop_params){
                                         .lr = 0.05, .alpha = 0.9, .eps = 1e-3,
                                         .weight_decay = 0.1, .momentum = 0.5,
                                         .centered = true});
    case 2:
        return cg_adagrad_new(ps, n, &(struct cg_adagrad_params){
                                         .lr = 0.1, .lr_decay = 0.5, .weight_decay = 0.1,
                                         .initial_accumulator_value = 0.1, .eps = 1e-3});
    case 3:
        return cg_adam_new(ps, n, &(struct cg_adam_params){.lr = 0.5, .betas = {0.9, 0.5},
                                                           .eps = 1e-8, .weight_decay = 0.1,
                                                           .amsgrad = true});
    default:
        return cg_adamw_new(ps, n, &(struct cg_adam_params){.lr = 0.5, .betas = {0.9, 0.5},
                                                            .eps = 1e-8, .weight_decay = 0.1,
                                                            .amsgrad = true});
    }
}

/* p: [3] as one tensor and as [1] + [2]: the same numbers, bit for bit. */
static void test_many_tensors_equal_one(void **state)
{
    (void)state;
    for (int which = 0; which < 5; which++) {
        struct problem one;
        problem_init(&one);
        cg_float g2[3], d0[1] = {(cg_float)P0[0]}, d1[2] = {(cg_float)P0[1], (cg_float)P0[2]};
        cg_tensor *two[2] = {param_over(d0, g2, 1), param_over(d1, g2 + 1, 2)};
        cg_optim *a = make_optim(which, &one.p, 1), *b = make_optim(which, two, 2);
        assert_non_null(a);
        assert_non_null(b);
        for (int s = 0; s < 5; s++) {
            set_grads(&one.p, 1);
            set_grads(two, 2);
            assert_int_equal(cg_optim_step(a), CG_OK);
            assert_int_equal(cg_optim_step(b), CG_OK);
        }
        assert_memory_equal(one.p->data, two[0]->data, sizeof(cg_float));
        assert_memory_equal(one.p->data + 1, two[1]->data, 2 * sizeof(cg_float));
        assert_int_equal(cg_optim_state_count(b), 2 * cg_optim_state_count(a));
        cg_optim_free(a);
        cg_optim_free(b);
        cg_tensor_free(one.p);
        cg_tensor_free(two[0]);
        cg_tensor_free(two[1]);
    }
}

/* A step count read from a checkpoint is bounded: 2^63 - 1 overflowed the
 * count at the next step (UBSan) and a negative one made no sense. */
static void test_step_count_is_bounded(void **state)
{
    (void)state;
    for (int which = 0; which < 5; which++) {
        struct problem one;
        problem_init(&one);
        cg_optim *o = make_optim(which, &one.p, 1);
        assert_non_null(o);
        assert_int_equal(cg_optim_set_steps(o, INT64_MAX), CG_ERR_ARG);
        assert_int_equal(cg_optim_set_steps(o, -3), CG_ERR_ARG);
        assert_int_equal(cg_optim_set_steps(o, CG_OPTIM_MAX_STEPS + 1), CG_ERR_ARG);
        assert_int_equal(cg_optim_steps(o), 0);
        assert_int_equal(cg_optim_set_steps(o, CG_OPTIM_MAX_STEPS - 1), CG_OK);
        set_grads(&one.p, 1);
        assert_int_equal(cg_optim_step(o), CG_OK);
        assert_int_equal(cg_optim_step(o), CG_ERR_STATE);
        assert_int_equal(cg_optim_steps(o), CG_OPTIM_MAX_STEPS);
        cg_optim_free(o);
        cg_tensor_free(one.p);
    }
}

/* A step split into element ranges (as threads would do it) equals a whole step. */
static void test_split_ranges_equal_whole(void **state)
{
    (void)state;
    for (int which = 0; which < 5; which++) {
        struct problem x, y;
        problem_init(&x);
        problem_init(&y);
        cg_optim *a = make_optim(which, &x.p, 1), *b = make_optim(which, &y.p, 1);
        for (int s = 0; s < 4; s++) {
            set_grads(&x.p, 1);
            set_grads(&y.p, 1);
            assert_int_equal(cg_optim_step(a), CG_OK);
            assert_int_equal(cg__optim_begin_step(b), CG_OK);
            cg__optim_update_range(b, 0, 2, 3);
            cg__optim_update_range(b, 0, 0, 2);
        }
        assert_memory_equal(x.p->data, y.p->data, 3 * sizeof(cg_float));
        cg_optim_free(a);
        cg_optim_free(b);
        cg_tensor_free(x.p);
        cg_tensor_free(y.p);
    }
}

/* cg_optim_step_pool on 2 and 3 threads (3 elements: shares of 1, 1 and 1,
 * or of 1 and 2) equals a whole step, bit for bit. */
static void test_step_pool_equals_whole(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 3; threads++) {
        cg_pool *pool = cg_pool_new(threads);
        assert_non_null(pool);
        for (int which = 0; which < 5; which++) {
            struct problem x, y;
            problem_init(&x);
            problem_init(&y);
            cg_optim *a = make_optim(which, &x.p, 1), *b = make_optim(which, &y.p, 1);
            for (int s = 0; s < 4; s++) {
                set_grads(&x.p, 1);
                set_grads(&y.p, 1);
                assert_int_equal(cg_optim_step(a), CG_OK);
                assert_int_equal(cg_optim_step_pool(b, pool), CG_OK);
            }
            /* Zeroing on the pool clears every element of the grads. */
            cg_optim_zero_grad_pool(b, pool);
            for (int i = 0; i < 3; i++)
                assert_true(y.p->grad[i] == 0);
            assert_memory_equal(x.p->data, y.p->data, 3 * sizeof(cg_float));
            assert_int_equal(cg_optim_steps(b), 4);
            cg_optim_free(a);
            cg_optim_free(b);
            cg_tensor_free(x.p);
            cg_tensor_free(y.p);
        }
        cg_pool_free(pool);
    }
    assert_int_equal(cg_optim_step_pool(NULL, NULL), CG_ERR_ARG);
}

/* cg_optim_step_zero_grad on 1 to 3 threads, over tensors that end inside,
 * at and past the 1024-element chunks it zeroes, equals cg_optim_step then
 * cg_optim_zero_grad bit for bit, and leaves every grad element at 0. */
static void test_step_zero_grad_equals_step_then_zero(void **state)
{
    enum { N_TENSORS = 3 };
    static const int sizes[N_TENSORS] = {1, 1024, 2500};
    (void)state;
    for (int threads = 1; threads <= 3; threads++) {
        cg_pool *pool = cg_pool_new(threads);
        assert_non_null(pool);
        for (int which = 0; which < 5; which++) {
            cg_tensor *x[N_TENSORS], *y[N_TENSORS];
            for (int t = 0; t < N_TENSORS; t++) {
                x[t] = cg_param_new(1, &sizes[t]);
                y[t] = cg_param_new(1, &sizes[t]);
                assert_non_null(x[t]);
                assert_non_null(y[t]);
                for (int j = 0; j < sizes[t]; j++)
                    x[t]->data[j] = y[t]->data[j] = (cg_float)((j % 11) - 5) / 7;
            }
            cg_optim *a = make_optim(which, x, N_TENSORS), *b = make_optim(which, y, N_TENSORS);
            assert_non_null(a);
            assert_non_null(b);
            for (int s = 0; s < 3; s++) {
                for (int t = 0; t < N_TENSORS; t++)
                    for (int j = 0; j < sizes[t]; j++)
                        x[t]->grad[j] = y[t]->grad[j] =
                            (cg_float)((j * 7 + s) % 13 - 6) / 5 + x[t]->data[j];
                assert_int_equal(cg_optim_step(a), CG_OK);
                cg_optim_zero_grad(a);
                assert_int_equal(cg_optim_step_zero_grad(b, pool), CG_OK);
                for (int t = 0; t < N_TENSORS; t++) {
                    assert_memory_equal(x[t]->data, y[t]->data,
                                        (size_t)sizes[t] * sizeof(cg_float));
                    for (int j = 0; j < sizes[t]; j++)
                        if (y[t]->grad[j] != 0)
                            fail_msg("threads %d, optimizer %d, step %d: grad[%d][%d] = %g",
                                     threads, which, s, t, j, (double)y[t]->grad[j]);
                }
            }
            assert_int_equal(cg_optim_steps(b), 3);
            cg_optim_free(a);
            cg_optim_free(b);
            for (int t = 0; t < N_TENSORS; t++) {
                cg_tensor_free(x[t]);
                cg_tensor_free(y[t]);
            }
        }
        cg_pool_free(pool);
    }
    assert_int_equal(cg_optim_step_zero_grad(NULL, NULL), CG_ERR_ARG);
}

/* 3 steps, state copied out, a new optimizer restored from it, 3 more steps:
 * bit for bit the 6 uninterrupted steps. */
static void test_state_round_trip(void **state)
{
    (void)state;
    for (int which = 0; which < 5; which++) {
        struct problem full, part;
        problem_init(&full);
        problem_init(&part);
        cg_optim *a = make_optim(which, &full.p, 1), *b = make_optim(which, &part.p, 1);
        for (int s = 0; s < 6; s++) {
            set_grads(&full.p, 1);
            assert_int_equal(cg_optim_step(a), CG_OK);
        }
        for (int s = 0; s < 3; s++) {
            set_grads(&part.p, 1);
            assert_int_equal(cg_optim_step(b), CG_OK);
        }
        /* Save. */
        int n = cg_optim_state_count(b);
        assert_true(n >= 1);
        cg_tensor *saved[CG__MAX_SLOTS];
        for (int i = 0; i < n; i++)
            saved[i] = cg_tensor_clone(cg_optim_state_tensor(b, i, NULL));
        int64_t steps = cg_optim_steps(b);
        cg_optim_free(b);
        /* Restore into a new optimizer. */
        b = make_optim(which, &part.p, 1);
        assert_int_equal(cg_optim_state_count(b), n);
        for (int i = 0; i < n; i++) {
            assert_int_equal(cg_tensor_copy(cg_optim_state_tensor(b, i, NULL), saved[i]), CG_OK);
            cg_tensor_free(saved[i]);
        }
        assert_int_equal(cg_optim_set_steps(b, steps), CG_OK);
        for (int s = 0; s < 3; s++) {
            set_grads(&part.p, 1);
            assert_int_equal(cg_optim_step(b), CG_OK);
        }
        assert_int_equal(cg_optim_steps(b), 6);
        assert_memory_equal(full.p->data, part.p->data, 3 * sizeof(cg_float));
        for (int i = 0; i < n; i++)
            assert_memory_equal(cg_optim_state_tensor(a, i, NULL)->data,
                                cg_optim_state_tensor(b, i, NULL)->data, 3 * sizeof(cg_float));
        cg_optim_free(a);
        cg_optim_free(b);
        cg_tensor_free(full.p);
        cg_tensor_free(part.p);
    }
}

/* ---- the interface ---------------------------------------------------------- */

static void test_state_names(void **state)
{
    (void)state;
    cg_float g[3], d[3] = {0};
    cg_tensor *ps[2] = {param_over(d, g, 1), param_over(d + 1, g + 1, 2)};
    cg_optim *o = cg_adam_new(ps, 2, &(struct cg_adam_params){.lr = 1e-3, .betas = {0.9, 0.999},
                                                              .amsgrad = true});
    static const char *names[] = {"p0.exp_avg", "p0.exp_avg_sq", "p0.max_exp_avg_sq",
                                  "p1.exp_avg", "p1.exp_avg_sq", "p1.max_exp_avg_sq"};
    assert_int_equal(cg_optim_state_count(o), 6);
    for (int i = 0; i < 6; i++) {
        const char *name = NULL;
        cg_tensor *t = cg_optim_state_tensor(o, i, &name);
        assert_string_equal(name, names[i]);
        assert_int_equal(t->size, i < 3 ? 1 : 2);
    }
    cg_clear_error();
    assert_null(cg_optim_state_tensor(o, 6, NULL));
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains("cg_optim_state_tensor: index 6");
    cg_optim_free(o);

    /* SGD keeps a momentum buffer only with momentum; Adagrad's sum starts at
     * initial_accumulator_value. */
    o = cg_sgd_new(ps, 2, NULL);
    assert_int_equal(cg_optim_state_count(o), 0);
    cg_optim_free(o);
    o = cg_adagrad_new(ps, 2, &(struct cg_adagrad_params){.lr = 0.1,
                                                           .initial_accumulator_value = 0.25});
    const char *name;
    assert_near(cg_optim_state_tensor(o, 1, &name)->data[1], 0.25, 0);
    assert_string_equal(name, "p1.sum");
    assert_string_equal(cg_optim_name(o), "adagrad");
    cg_optim_free(o);
    cg_tensor_free(ps[0]);
    cg_tensor_free(ps[1]);
}

static void test_describe(void **state)
{
    (void)state;
    struct problem pb;
    problem_init(&pb);
    char buf[CG_OPTIM_DESCRIBE_MAX], other[CG_OPTIM_DESCRIBE_MAX];
    cg_optim *o = cg_adam_new(&pb.p, 1, NULL);
    assert_string_equal(cg_optim_describe(o, buf, sizeof buf),
                        "adam lr=0.001 betas=0.9,0.999 eps=1e-08 weight_decay=0 amsgrad=0");
    /* The constructor's lr, not the current one. */
    assert_int_equal(cg_optim_set_lr(o, 0.5), CG_OK);
    assert_string_equal(cg_optim_describe(o, other, sizeof other), buf);
    cg_optim_free(o);
    o = cg_adamw_new(&pb.p, 1, NULL);
    assert_string_equal(cg_optim_describe(o, buf, sizeof buf),
                        "adamw lr=0.001 betas=0.9,0.999 eps=1e-08 weight_decay=0.01 amsgrad=0");
    cg_optim_free(o);
    o = cg_sgd_new(&pb.p, 1, NULL);
    assert_string_equal(cg_optim_describe(o, buf, sizeof buf),
                        "sgd lr=0.01 momentum=0 dampening=0 weight_decay=0 nesterov=0");
    cg_optim_free(o);
    o = cg_rmsprop_new(&pb.p, 1, NULL);
    assert_string_equal(cg_optim_describe(o, buf, sizeof buf),
                        "rmsprop lr=0.01 alpha=0.99 eps=1e-08 weight_decay=0 momentum=0 "
                        "centered=0");
    cg_optim_free(o);
    o = cg_adagrad_new(&pb.p, 1, NULL);
    assert_string_equal(cg_optim_describe(o, buf, sizeof buf),
                        "adagrad lr=0.01 lr_decay=0 weight_decay=0 "
                        "initial_accumulator_value=0 eps=1e-10");
    cg_optim_free(o);
    /* A setting that differs in the last bit still describes differently. */
    o = cg_sgd_new(&pb.p, 1, &(struct cg_sgd_params){.lr = nextafter(0.01, 1)});
    assert_string_equal(cg_optim_describe(o, buf, sizeof buf),
                        "sgd lr=0.010000000000000002 momentum=0 dampening=0 weight_decay=0 "
                        "nesterov=0");
    /* Truncation keeps the string terminated. */
    assert_string_equal(cg_optim_describe(o, buf, 4), "sgd");
    cg_optim_free(o);
    cg_tensor_free(pb.p);
}

static void test_lr_and_steps(void **state)
{
    (void)state;
    struct problem pb;
    problem_init(&pb);
    cg_optim *o = cg_sgd_new(&pb.p, 1, NULL);
    assert_near(cg_optim_lr(o), 0.01, 0);
    assert_int_equal(cg_optim_set_lr(o, 0.2), CG_OK);
    assert_near(cg_optim_lr(o), 0.2, 0);
    /* g = 2 (1 - 0.25) = 1.5: p = 1 - 0.2 * 1.5 = 0.7. */
    set_grads(&pb.p, 1);
    assert_int_equal(cg_optim_step(o), CG_OK);
    assert_near(pb.p->data[0], 0.7, REL);
    assert_int_equal(cg_optim_steps(o), 1);
    cg_clear_error();
    assert_int_equal(cg_optim_set_lr(o, -1), CG_ERR_ARG);
    assert_errmsg_contains("lr must be >= 0");
    assert_int_equal(cg_optim_set_lr(o, (double)NAN), CG_ERR_ARG);
    assert_near(cg_optim_lr(o), 0.2, 0);
    assert_int_equal(cg_optim_set_steps(o, -1), CG_ERR_ARG);
    assert_int_equal(cg_optim_steps(o), 1);
    cg_optim_zero_grad(o);
    for (int j = 0; j < 3; j++)
        assert_true(pb.p->grad[j] == 0);
    /* A grad buffer that went away: an error, nothing changed. */
    pb.p->grad = NULL;
    assert_int_equal(cg_optim_step(o), CG_ERR_STATE);
    assert_errmsg_contains("params[0] has no grad");
    assert_int_equal(cg_optim_steps(o), 1);
    assert_near(pb.p->data[0], 0.7, REL);
    cg_optim_free(o);
    cg_optim_free(NULL);
    cg_optim_zero_grad(NULL);
    assert_int_equal(cg_optim_step(NULL), CG_ERR_ARG);
    cg_tensor_free(pb.p);
}

/* Bad hyper-parameters: NULL, CG_ERR_ARG, the constructor and option named. */
static void expect_bad(cg_optim *o, const char *fn, const char *option)
{
    assert_null(o);
    assert_int_equal(cg_errcode(), CG_ERR_ARG);
    assert_errmsg_contains(fn);
    assert_errmsg_contains(option);
    cg_clear_error();
}

static void test_bad_hyperparameters(void **state)
{
    (void)state;
    struct problem pb;
    problem_init(&pb);
    cg_tensor **p = &pb.p;
    cg_clear_error();
    expect_bad(cg_sgd_new(p, 1, &(struct cg_sgd_params){.lr = -0.1}), "cg_sgd_new", "lr");
    expect_bad(cg_sgd_new(p, 1, &(struct cg_sgd_params){.lr = (double)NAN}), "cg_sgd_new", "lr");
    expect_bad(cg_sgd_new(p, 1, &(struct cg_sgd_params){.lr = 0.1, .momentum = -0.5}),
               "cg_sgd_new", "momentum");
    expect_bad(cg_sgd_new(p, 1, &(struct cg_sgd_params){.lr = 0.1, .weight_decay = -1}),
               "cg_sgd_new", "weight_decay");
    expect_bad(cg_sgd_new(p, 1, &(struct cg_sgd_params){.lr = 0.1, .nesterov = true}),
               "cg_sgd_new", "nesterov requires momentum");
    expect_bad(cg_sgd_new(p, 1, &(struct cg_sgd_params){.lr = 0.1, .momentum = 0.9,
                                                        .dampening = 0.1, .nesterov = true}),
               "cg_sgd_new", "dampening 0");
    struct cg_rmsprop_params r = cg_rmsprop_defaults();
    r.alpha = -0.1;
    expect_bad(cg_rmsprop_new(p, 1, &r), "cg_rmsprop_new", "alpha");
    r = cg_rmsprop_defaults();
    r.eps = -1e-8;
    expect_bad(cg_rmsprop_new(p, 1, &r), "cg_rmsprop_new", "eps");
    r = cg_rmsprop_defaults();
    r.momentum = -1;
    expect_bad(cg_rmsprop_new(p, 1, &r), "cg_rmsprop_new", "momentum");
    struct cg_adagrad_params g = cg_adagrad_defaults();
    g.lr_decay = -1;
    expect_bad(cg_adagrad_new(p, 1, &g), "cg_adagrad_new", "lr_decay");
    g = cg_adagrad_defaults();
    g.initial_accumulator_value = -1;
    expect_bad(cg_adagrad_new(p, 1, &g), "cg_adagrad_new", "initial_accumulator_value");
    struct cg_adam_params a = cg_adam_defaults();
    a.betas[0] = 1.0;
    expect_bad(cg_adam_new(p, 1, &a), "cg_adam_new", "betas[0]");
    a = cg_adamw_defaults();
    a.betas[1] = -0.1;
    expect_bad(cg_adamw_new(p, 1, &a), "cg_adamw_new", "betas[1]");
    a = cg_adam_defaults();
    a.eps = -1;
    expect_bad(cg_adam_new(p, 1, &a), "cg_adam_new", "eps");
    a = cg_adam_defaults();
    a.lr = -1;
    expect_bad(cg_adam_new(p, 1, &a), "cg_adam_new", "lr");
    a = cg_adamw_defaults();
    a.weight_decay = -0.01;
    expect_bad(cg_adamw_new(p, 1, &a), "cg_adamw_new", "weight_decay");
    cg_tensor_free(pb.p);
}

static void test_bad_parameter_lists(void **state)
{
    (void)state;
    cg_float g[4], d[4] = {0};
    cg_tensor *whole = param_over(d, g, 4);
    cg_tensor *view = cg_tensor_reshape(whole, 2, (int[]){2, 2});
    view->grad = g;
    cg_tensor *nograd = cg_tensor_new(1, (int[]){2});
    cg_clear_error();
    expect_bad(cg_adam_new(NULL, 0, NULL), "cg_adam_new", "empty parameter list");
    expect_bad(cg_sgd_new((cg_tensor *[]){whole, NULL}, 2, NULL), "cg_sgd_new",
               "params[1] is NULL");
    expect_bad(cg_sgd_new((cg_tensor *[]){whole, nograd}, 2, NULL), "cg_sgd_new",
               "params[1] has no grad");
    /* A flat buffer and a view of it would be updated twice. */
    expect_bad(cg_rmsprop_new((cg_tensor *[]){whole, view}, 2, NULL), "cg_rmsprop_new",
               "params[1] overlaps params[0]");
    cg_tensor_free(view);
    cg_tensor_free(whole);
    cg_tensor_free(nograd);
}

/* ---- no allocation in a step ------------------------------------------------ */

static void test_step_does_not_allocate(void **state)
{
    (void)state;
    cg_test_alloc_install(-1, CG_TEST_ALLOC_NO_REALLOC);
    for (int which = 0; which < 5; which++) {
        struct problem pb;
        problem_init(&pb);
        cg_optim *o = make_optim(which, &pb.p, 1);
        long before = cg_test_alloc.calls;
        for (int s = 0; s < 10; s++) {
            set_grads(&pb.p, 1);
            assert_int_equal(cg_optim_step(o), CG_OK);
            cg_optim_zero_grad(o);
        }
        assert_int_equal(cg_test_alloc.calls, before);
        cg_optim_free(o);
        cg_tensor_free(pb.p);
    }
    cg_test_alloc_remove();
}

/* Out of memory at every allocation of every constructor in turn: NULL,
 * CG_ERR_NOMEM, the constructor named, nothing leaked. */
static void test_constructors_out_of_memory(void **state)
{
    (void)state;
    static const char *fns[] = {"cg_sgd_new", "cg_rmsprop_new", "cg_adagrad_new",
                                "cg_adam_new", "cg_adamw_new"};
    cg_float g[3], d[3] = {0};
    cg_tensor *ps[2] = {param_over(d, g, 1), param_over(d + 1, g + 1, 2)};
    for (int which = 0; which < 5; which++) {
        int fail_at = 0;
        for (;; fail_at++) {
            cg_clear_error();
            cg_test_alloc_install(fail_at, CG_TEST_ALLOC_NO_REALLOC);
            cg_optim *o = make_optim(which, ps, 2);
            cg_optim_free(o);
            cg_test_alloc_remove();
            assert_int_equal(cg_test_alloc.live, 0);
            if (o)
                break;
            assert_int_equal(cg_errcode(), CG_ERR_NOMEM);
            assert_errmsg_contains(fns[which]);
        }
        assert_true(fail_at >= 5);   /* lists, then a tensor and a name per buffer */
    }
    cg_tensor_free(ps[0]);
    cg_tensor_free(ps[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_defaults),
        cmocka_unit_test(test_sgd_plain),
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_sgd_dampening),
        cmocka_unit_test(test_sgd_nesterov),
        cmocka_unit_test(test_sgd_weight_decay),
        cmocka_unit_test(test_rmsprop_defaults),
        cmocka_unit_test(test_rmsprop_centered),
        cmocka_unit_test(test_rmsprop_momentum),
        cmocka_unit_test(test_rmsprop_weight_decay),
        cmocka_unit_test(test_rmsprop_all_options),
        cmocka_unit_test(test_adagrad_defaults),
        cmocka_unit_test(test_adagrad_all_options),
        cmocka_unit_test(test_adam_defaults),
        cmocka_unit_test(test_adam_weight_decay),
        cmocka_unit_test(test_adam_amsgrad),
        cmocka_unit_test(test_adamw_defaults),
        cmocka_unit_test(test_adamw_amsgrad),
        cmocka_unit_test(test_many_tensors_equal_one),
        cmocka_unit_test(test_step_count_is_bounded),
        cmocka_unit_test(test_split_ranges_equal_whole),
        cmocka_unit_test(test_step_pool_equals_whole),
        cmocka_unit_test(test_step_zero_grad_equals_step_then_zero),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_names),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_lr_and_steps),
        cmocka_unit_test(test_bad_hyperparameters),
        cmocka_unit_test(test_bad_parameter_lists),
        cmocka_unit_test(test_step_does_not_allocate),
        cmocka_unit_test(test_constructors_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

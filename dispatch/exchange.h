/*
 * dispatch/exchange.h
 *	  Pairwise exchange moves on a schedule: where one storage device
 *	  discharges while another charges in the same interval, both flows
 *	  are reduced by the same amount, so no sum the fleet is judged on
 *	  changes and the wear of the discharge is saved.
 */
#ifndef DERMS_DISPATCH_EXCHANGE_H
#define DERMS_DISPATCH_EXCHANGE_H

#include "dispatch/model.h"

/*
 * Net opposite flows out of s in place (feasible in, feasible out; the
 * fleet's net injection is unchanged in every interval and no feeder
 * group is pushed past a limit).  s->degr_cost and s->efc are updated;
 * s->cost is not (call dispatch_schedule_evaluate).  Returns the
 * modelled degradation saved ($, >= 0) and the number of moves in
 * *moves, or -1 on ENOMEM (s unchanged).
 */
double		dispatch_exchange_net(const dispatch_instance *in,
								  dispatch_schedule *s, int *moves);

#endif							/* DERMS_DISPATCH_EXCHANGE_H */

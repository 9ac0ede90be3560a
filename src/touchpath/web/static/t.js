/* touchpath tracker: written by the snippet task */

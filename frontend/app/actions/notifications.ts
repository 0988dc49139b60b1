'use server';
// Mark one notification, or all of them, read; then show the list again.
import { revalidatePath } from 'next/cache';
import { redirect } from 'next/navigation';
import { api } from '@/lib/api';
import { accessToken } from '@/lib/auth';

export async function markRead(form: FormData): Promise<void> {
    const token = await accessToken();
    if (!token) redirect('/login?next=/notifications');
    const id = form.get('id');
    if (typeof id === 'string' && id) {
        try {
            await api.markRead(token, id);
        } catch {
            // Already gone or not ours: the list below shows the truth.
        }
    }
    revalidatePath('/', 'layout');
}

export async function markAllRead(): Promise<void> {
    const token = await accessToken();
    if (!token) redirect('/login?next=/notifications');
    try {
        await api.markAllRead(token);
    } catch {
        // The list below shows what is still unread.
    }
    revalidatePath('/', 'layout');
}

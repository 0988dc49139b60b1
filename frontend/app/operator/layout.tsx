import { currentUser } from '@/lib/auth';
import { Forbidden } from '@/components/operator/guard';
import { OperatorNav } from '@/components/operator/OperatorNav';
import '@/components/operator/operator.css';

// Operators see the back office with its own navigation; travellers a 403
// page; anonymous visitors reach the page, which sends them to log in with
// the right ?next= (a layout does not know the path).
export default async function OperatorLayout({ children }: { children: React.ReactNode }) {
    const user = await currentUser();
    if (user && user.role !== 'operator') return <Forbidden />;
    return (
        <>
            {user && <OperatorNav />}
            {children}
        </>
    );
}
